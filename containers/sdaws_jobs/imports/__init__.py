"""Server-side imports (the `import` job): fetch a model from an https URL or Hugging Face
straight into the place it will live, resuming dropped connections, hashing as it goes.

    secrets     the bearer token, from the job's token file or environment, never logged
    meter       bytes / rate / ETA as progress events
    http_fetch  https with Range resume, redirects, Content-Disposition names
    hub_fetch   Hugging Face files and diffusers folders (HF cache, offline mode honoured)
    sinks       where the bytes go: output/ (local runner) or an S3 multipart upload (AWS)
"""
