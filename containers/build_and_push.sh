#!/usr/bin/env bash
# Build the sdaws job image (containers/Dockerfile) and push it to your own ECR.
# The last line printed is the image URI: pass it to `sam deploy` as JobImageUri.
set -euo pipefail

usage() {
    cat <<'USAGE'
Usage: containers/build_and_push.sh [options]

Builds the sdaws SageMaker job image (training, processing and async-inference
serving) and pushes it to an ECR repository in your AWS account, creating the
repository (scan on push, encrypted) if it does not exist.

Options:
  --repository NAME   ECR repository name            (default: sdaws-jobs)
  --tag TAG           image tag                      (default: git short hash, else "latest")
  --region REGION     AWS region                     (default: AWS_REGION, then the CLI's configured region)
  --profile PROFILE   AWS CLI profile                (default: the CLI's default credentials)
  --platform P        docker build platform          (default: linux/amd64, what SageMaker runs)
  --no-push           build only; print the URI it would push
  -h, --help          show this help

Needs: docker, and the AWS CLI v2 with credentials allowed to use ECR.
Then: sam deploy --parameter-overrides JobImageUri=<printed URI>
USAGE
}

repository="sdaws-jobs"
tag=""
region="${AWS_REGION:-}"
profile=""
platform="linux/amd64"
push=1

while [ $# -gt 0 ]; do
    case "$1" in
        --repository) repository="${2:?--repository needs a value}"; shift 2 ;;
        --tag) tag="${2:?--tag needs a value}"; shift 2 ;;
        --region) region="${2:?--region needs a value}"; shift 2 ;;
        --profile) profile="${2:?--profile needs a value}"; shift 2 ;;
        --platform) platform="${2:?--platform needs a value}"; shift 2 ;;
        --no-push) push=0; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
    esac
done

if ! [[ "$repository" =~ ^[a-z0-9]+([._/-][a-z0-9]+)*$ ]]; then
    echo "repository name '$repository' is not a valid ECR name (lowercase letters, digits, . _ - /)" >&2
    exit 2
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ -z "$tag" ]; then
    tag="$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo latest)"
fi

for tool in docker aws; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "$tool is not installed or not on PATH" >&2
        exit 1
    fi
done

aws_args=()
if [ -n "$profile" ]; then aws_args+=(--profile "$profile"); fi
if [ -z "$region" ]; then region="$(aws "${aws_args[@]}" configure get region || true)"; fi
if [ -z "$region" ]; then
    echo "no AWS region: pass --region or set AWS_REGION" >&2
    exit 2
fi
aws_args+=(--region "$region")

account="$(aws "${aws_args[@]}" sts get-caller-identity --query Account --output text)"
registry="${account}.dkr.ecr.${region}.amazonaws.com"
uri="${registry}/${repository}:${tag}"

echo "building ${uri}" >&2
docker build --platform "$platform" -f "$here/Dockerfile" -t "$uri" "$here/.." >&2

if [ "$push" -eq 0 ]; then
    echo "$uri"
    exit 0
fi

if ! aws "${aws_args[@]}" ecr describe-repositories --repository-names "$repository" >/dev/null 2>&1; then
    echo "creating ECR repository ${repository}" >&2
    aws "${aws_args[@]}" ecr create-repository --repository-name "$repository" \
        --image-scanning-configuration scanOnPush=true \
        --encryption-configuration encryptionType=AES256 >/dev/null
fi

# The registry password goes from the AWS CLI straight into docker's stdin: never
# echoed, never in a variable, never on a command line.
aws "${aws_args[@]}" ecr get-login-password | docker login --username AWS --password-stdin "$registry" >&2
docker push "$uri" >&2
echo "$uri"
