#!/usr/bin/env bash
# `make container-test`: build the real image, run it, check it from outside, always clean up.
#
#   tests/container/run.sh
#
# 1. build the image (podman: docker/podman-build.sh on a local Debian base; docker: docker build);
# 2. the default image: start it, wait for /healthz, check a page and a recommendation callback
#    (tests/container/smoke.py), check it runs as a non-root user and its HEALTHCHECK passes;
# 3. real-data mode: build an artifact set with the image itself into a named volume (the
#    documented `python -m build.refresh` job), start a second container serving that volume
#    read-only, and check it serves that set and not the baked one;
# 4. docker/deploy.sh, the EC2 rollout: deploy, redeploy (swap), and a broken deployment that
#    must leave the live container serving.
# Containers, volumes and extra tags are removed on every exit; on failure their logs are printed first.
#
# Environment: CONTAINER_ENGINE (podman | docker; default podman when installed),
# IMAGE (default localhost/music-recommender:test), BASE_IMAGE (passed to the build).
set -euo pipefail
cd "$(dirname "$0")/../.."

ENGINE="${CONTAINER_ENGINE:-$(command -v podman >/dev/null && echo podman || echo docker)}"
IMAGE="${IMAGE:-localhost/music-recommender:test}"
RUN_ID="music-recommender-test-$$"
PORT=""
CONTAINERS=()
VOLUMES=()
IMAGES=()
WORK=$(mktemp -d)
START=$SECONDS

# podman on these machines: runc, and explicit limits (the sandbox's defaults are too low for runc).
RUN_OPTS=()
if [[ "$ENGINE" == podman ]]; then
    RUN_OPTS=(--runtime runc --ulimit nofile=4096:4096 --ulimit nproc=4096:4096)
fi

log() { echo "container-test [$((SECONDS - START)) s]: $*" >&2; }

cleanup() {
    local status=$?
    for name in "${CONTAINERS[@]}"; do
        if ((status != 0)); then
            echo "----- last log lines of $name" >&2
            "$ENGINE" logs --tail 60 "$name" >&2 2>&1 || true
        fi
        "$ENGINE" rm -f "$name" >/dev/null 2>&1 || true
    done
    for volume in "${VOLUMES[@]}"; do
        "$ENGINE" volume rm -f "$volume" >/dev/null 2>&1 || true
    done
    for image in "${IMAGES[@]}"; do
        "$ENGINE" rmi "$image" >/dev/null 2>&1 || true
    done
    rm -rf "$WORK"
    if ((status == 0)); then log "passed"; else log "FAILED (exit $status)"; fi
    exit "$status"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# A one-off job in the image (no port, removed when done).
run_job() {
    "$ENGINE" run --rm "${RUN_OPTS[@]}" "$@"
}

# Start a serving container named $1 on a free loopback port, left in $PORT. Not to be called
# in a subshell: the container must be recorded in CONTAINERS for the cleanup.
serve() {
    local name=$1
    shift
    PORT=$(free_port)
    CONTAINERS+=("$name")
    "$ENGINE" run -d --name "$name" "${RUN_OPTS[@]}" -p "127.0.0.1:$PORT:8000" "$@" "$IMAGE" >/dev/null
}

check_healthcheck() {
    local name=$1
    if [[ "$ENGINE" == podman ]]; then
        # podman runs HEALTHCHECKs from systemd timers, absent here: run the image's check once by hand.
        podman healthcheck run "$name" >/dev/null
    else
        local status=starting
        for _ in $(seq 1 60); do
            status=$(docker inspect --format '{{.State.Health.Status}}' "$name")
            [[ "$status" == starting ]] || break
            sleep 2
        done
        [[ "$status" == healthy ]] || { log "HEALTHCHECK status of $name: $status"; return 1; }
    fi
    log "HEALTHCHECK of $name passes"
}

build_image() {
    local built=$SECONDS
    if [[ "$ENGINE" == podman ]]; then
        docker/podman-build.sh "$IMAGE"
    else
        docker build --build-arg "GIT_SHA=$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
            ${BASE_IMAGE:+--build-arg "BASE_IMAGE=$BASE_IMAGE"} --tag "$IMAGE" .
    fi
    log "image $IMAGE built with $ENGINE in $((SECONDS - built)) s"
}

test_default_image() {
    local name="$RUN_ID-demo" uid
    serve "$name"
    python3 tests/container/smoke.py "http://127.0.0.1:$PORT"
    uid=$("$ENGINE" exec "$name" id -u)
    [[ "$uid" != 0 ]] || { log "the app runs as root"; return 1; }
    log "the app runs as uid $uid"
    check_healthcheck "$name"
}

test_mounted_artifacts() {
    local raw="$RUN_ID-raw" artifacts="$RUN_ID-artifacts" name="$RUN_ID-mounted" version
    "$ENGINE" volume create "$raw" >/dev/null && VOLUMES+=("$raw")
    "$ENGINE" volume create "$artifacts" >/dev/null && VOLUMES+=("$artifacts")
    # A different seed gives a different artifact set from the baked one.
    run_job -v "$raw:/data/raw" "$IMAGE" python -m build.demo_data --out /data/raw --seed 7
    run_job -v "$raw:/data/raw:ro" -v "$artifacts:/data/artifacts" "$IMAGE" \
        python -m build.refresh --raw /data/raw --out /data/artifacts
    version=$(run_job -v "$artifacts:/data/artifacts:ro" "$IMAGE" readlink /data/artifacts/current)
    log "built artifact set $version into volume $artifacts"
    serve "$name" -v "$artifacts:/data/artifacts:ro" -e ARTIFACTS_DIR=/data/artifacts
    python3 tests/container/smoke.py "http://127.0.0.1:$PORT" --expect-version "$version"
}

# docker/deploy.sh as on the EC2 host, with stand-ins for the AWS CLI and for `docker login/pull`
# (the image is local): a first deployment, a second one that swaps containers, and a broken
# one (no artifacts: /healthz answers 503) that must leave the live container serving.
test_deploy_script() {
    local shims="$WORK/bin" app="$RUN_ID-app" image="localhost/$RUN_ID-deploy:v1" live_port candidate_port live_id
    local real_engine
    real_engine=$(command -v "$ENGINE")
    mkdir -p "$shims"
    printf '#!/bin/sh\n# Stand-in for the AWS CLI: deploy.sh only asks for an ECR password.\necho test-password\n' \
        >"$shims/aws"
    cat >"$shims/docker" <<EOF
#!/usr/bin/env bash
# Stand-in for the host's docker CLI: the test image is local, so login and pull only check it.
case "\$1" in
    login) cat >/dev/null ;;
    pull) exec "$real_engine" image inspect "\$2" >/dev/null ;;
    run) shift; exec "$real_engine" run ${RUN_OPTS[*]} "\$@" ;;
    *) exec "$real_engine" "\$@" ;;
esac
EOF
    chmod +x "$shims/aws" "$shims/docker"
    "$ENGINE" tag "$IMAGE" "$image" && IMAGES+=("$image")
    CONTAINERS+=("$app" "$app-candidate" "$app-previous")
    live_port=$(free_port)
    candidate_port=$(free_port)
    deploy() {
        env PATH="$shims:$PATH" IMAGE="$image" AWS_REGION=test DEPLOY_ENV=/nonexistent APP_NAME="$app" \
            HOST_PORT="$live_port" CANDIDATE_PORT="$candidate_port" HISTORY="$WORK/history" \
            ARTIFACTS_HOST_DIR="$WORK/no-artifacts" "$@" docker/deploy.sh
    }
    deploy ENV_FILE=/nonexistent
    log "deploy.sh: first deployment serves on port $live_port"
    live_id=$("$ENGINE" container inspect -f '{{.Id}}' "$app")
    deploy ENV_FILE=/nonexistent
    [[ "$("$ENGINE" container inspect -f '{{.Id}}' "$app")" != "$live_id" ]] || { log "no swap"; return 1; }
    ! "$ENGINE" container inspect "$app-previous" >/dev/null 2>&1 || { log "previous kept"; return 1; }
    log "deploy.sh: second deployment swapped containers and removed the previous one"
    live_id=$("$ENGINE" container inspect -f '{{.Id}}' "$app")
    echo "ARTIFACTS_DIR=/nonexistent" >"$WORK/broken.env"
    if deploy ENV_FILE="$WORK/broken.env" HEALTH_TIMEOUT=30; then
        log "deploy.sh accepted an image that never became healthy"
        return 1
    fi
    [[ "$("$ENGINE" container inspect -f '{{.Id}}' "$app")" == "$live_id" ]] || { log "live replaced"; return 1; }
    python3 tests/container/smoke.py "http://127.0.0.1:$live_port" --wait 10 >/dev/null 2>&1 \
        || { log "the live container stopped serving"; return 1; }
    log "deploy.sh: a broken deployment failed and left the live container serving"
}

log "engine $ENGINE, image $IMAGE"
build_image
test_default_image
test_mounted_artifacts
test_deploy_script
