#!/usr/bin/env bash
# Build the image with podman on a machine with no Docker engine and no registry access.
#
#   docker/podman-build.sh [TAG] [extra `podman build` options...]   (default TAG: localhost/music-recommender:dev)
#
# Environment:
#   BASE_IMAGE   base of every stage (default: localhost/music-recommender-base:bookworm, built
#                by docker/make-base-image.sh when it is not there yet)
#
# pip inside the build gets this machine's pip configuration and CA bundle through read-only
# volumes (docker/pip_build_mounts.py); they are never part of the image. chroot isolation and
# the docker image format (which keeps HEALTHCHECK) work in an unprivileged-looking sandbox.
set -euo pipefail
cd "$(dirname "$0")/.."

TAG="${1:-localhost/music-recommender:dev}"
shift || true
BASE_IMAGE="${BASE_IMAGE:-localhost/music-recommender-base:bookworm}"

if [[ "$BASE_IMAGE" == localhost/* ]] && ! podman image exists "$BASE_IMAGE"; then
    docker/make-base-image.sh "$BASE_IMAGE" >/dev/null
fi

WORKDIR=$(mktemp -d)
trap 'rm -rf "$WORKDIR"' EXIT
mapfile -t PIP_MOUNTS < <(python3 docker/pip_build_mounts.py "$WORKDIR")
GIT_SHA=$(git rev-parse HEAD 2>/dev/null || echo unknown)

podman build \
    --isolation=chroot \
    --format=docker \
    --build-arg "BASE_IMAGE=$BASE_IMAGE" \
    --build-arg "GIT_SHA=$GIT_SHA" \
    "${PIP_MOUNTS[@]}" \
    --tag "$TAG" \
    "$@" \
    .
