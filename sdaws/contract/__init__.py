"""The vocabulary the API (sam_app), the job code (sdaws_jobs) and the client (sdaws.client,
sdaws.cli, tui) share, each rule defined once, here:

    errors              the domain errors and the one sentence a pydantic ValidationError becomes
    job_status          job statuses and which may replace which
    specs               job kinds and their params (pydantic), scheduler names
    hyperparameters     how a spec travels as SageMaker hyperparameters
    outputs             where each job kind's results land in the tree
    progress            the progress-line protocol of job stdout
    model_tree          tree folders, model and image extensions, names, the converted prefix
    architecture        architecture names and their detection from tensor shapes
    safetensors_header  reading a safetensors header with bounded memory
    hashes              sha256 and the WebUI/Civitai AutoV2 short hash, one streaming hasher
    sidecars            WebUI files beside a model (previews, NAME.json, NAME.civitai.info)
    model_facts         kind and base family from tensor shapes, kohya ss_* metadata, "fits"
    import_spec         server-side imports: sources, result names, the job's spec
    hash_spec           the hash utility job (objects too big for the hash Lambda)
    json_limits         how deeply nested untrusted JSON may be (request bodies, headers)

It imports the standard library and pydantic only (an import-linter contract), so the
Lambda bundle (as a layer, see Makefile), the job image and the client all carry it.
"""
