"""GPU/CPU job code run by the SageMaker images and, in-process or as subprocesses, locally."""
