#!/usr/bin/env bash
# Roll out one image on this host: pull, start it beside the live container, wait for /healthz,
# swap, and roll back to the previous container if the new one does not become healthy.
#
#   IMAGE=<registry>/<repository>:<tag> AWS_REGION=<region> deploy.sh
#
# Runs on the EC2 host as root, sent by SSM Run Command (docker/ssm-deploy.sh), which also
# installs it as /usr/local/sbin/music-recommender-deploy for rolling back by hand.
#
#   1. log in to ECR with the instance profile and pull IMAGE;
#   2. start it as "<app>-candidate" on 127.0.0.1:CANDIDATE_PORT and wait for /healthz: if it never
#      answers, remove it and stop here (the live container was not touched);
#   3. swap: rename the live container to "<app>-previous" and stop it (it frees the public port
#      but is kept), start IMAGE as "<app>" on HOST_PORT and wait for /healthz;
#   4. healthy: remove the candidate and the previous container (its image stays, for a rollback);
#      not healthy: remove the new one and start the previous one again (rollback), exit 1.
#
# The public port is down between stopping the old container and the new one's first answer
# (a few seconds: gunicorn boots and loads the mmapped artifacts). A load balancer in front of
# two hosts, or a reverse proxy switching ports, removes that gap (docs/deployment.md).
#
# Host configuration, all optional:
#   /etc/music-recommender/deploy.env   settings (shell syntax): APP_NAME, HOST_PORT (80),
#                                       CANDIDATE_PORT (8001), HEALTH_TIMEOUT (180 s), KEEP_IMAGES (3), ...
#   /etc/music-recommender/app.env      the container's environment (WEB_CONCURRENCY, LOG_LEVEL, ...)
#   /srv/music-recommender/artifacts    real artifact sets (with `current`): mounted read-only and
#                                       served instead of the demo set baked into the image
set -euo pipefail

: "${IMAGE:?IMAGE=<registry>/<repository>:<tag> is required}"
: "${AWS_REGION:?AWS_REGION is required}"
DEPLOY_ENV="${DEPLOY_ENV:-/etc/music-recommender/deploy.env}"
if [[ -f "$DEPLOY_ENV" ]]; then
    # shellcheck disable=SC1090
    source "$DEPLOY_ENV"
fi
APP_NAME="${APP_NAME:-music-recommender}"
HOST_PORT="${HOST_PORT:-80}"
CANDIDATE_PORT="${CANDIDATE_PORT:-8001}"
HEALTH_TIMEOUT="${HEALTH_TIMEOUT:-180}"
ENV_FILE="${ENV_FILE:-/etc/music-recommender/app.env}"
ARTIFACTS_HOST_DIR="${ARTIFACTS_HOST_DIR:-/srv/music-recommender/artifacts}"
HISTORY="${HISTORY:-/var/lib/music-recommender/deployed-images}"
KEEP_IMAGES="${KEEP_IMAGES:-3}"

log() { echo "deploy: $*"; }

exists() { docker container inspect "$1" >/dev/null 2>&1; }

# Options shared by the candidate and the live container.
container_options() {
    local opts=(--ulimit nofile=4096:4096)
    if [[ -f "$ENV_FILE" ]]; then opts+=(--env-file "$ENV_FILE"); fi
    if [[ -e "$ARTIFACTS_HOST_DIR/current" ]]; then
        opts+=(-v "$ARTIFACTS_HOST_DIR:/data/artifacts:ro" -e ARTIFACTS_DIR=/data/artifacts)
    fi
    printf '%s\n' "${opts[@]}"
}

# Wait until http://127.0.0.1:$1/healthz answers 200; on timeout print the container's logs.
wait_healthy() {
    local port=$1 name=$2 deadline=$((SECONDS + HEALTH_TIMEOUT))
    while ((SECONDS < deadline)); do
        if curl -fs -m 5 "http://127.0.0.1:$port/healthz"; then
            echo
            log "$name is healthy"
            return 0
        fi
        if [[ "$(docker container inspect -f '{{.State.Running}}' "$name" 2>/dev/null)" != true ]]; then
            log "$name is not running"
            break
        fi
        sleep 3
    done
    log "$name did not become healthy within ${HEALTH_TIMEOUT} s; its last log lines:"
    docker logs --tail 80 "$name" 2>&1 || true
    return 1
}

pull() {
    local registry=${IMAGE%%/*}
    aws ecr get-login-password --region "$AWS_REGION" | docker login --username AWS --password-stdin "$registry"
    docker pull "$IMAGE"
}

try_candidate() {
    local name="$APP_NAME-candidate" opts
    mapfile -t opts < <(container_options)
    docker rm -f "$name" >/dev/null 2>&1 || true
    docker run -d --name "$name" -p "127.0.0.1:$CANDIDATE_PORT:8000" "${opts[@]}" "$IMAGE" >/dev/null
    if ! wait_healthy "$CANDIDATE_PORT" "$name"; then
        docker rm -f "$name" >/dev/null
        log "FAILED: $IMAGE is not healthy; nothing was changed, the live container keeps serving"
        exit 1
    fi
    docker rm -f "$name" >/dev/null
}

swap() {
    local previous="$APP_NAME-previous" opts
    mapfile -t opts < <(container_options)
    docker rm -f "$previous" >/dev/null 2>&1 || true
    if exists "$APP_NAME"; then
        docker rename "$APP_NAME" "$previous"
        docker stop "$previous" >/dev/null
    fi
    if docker run -d --name "$APP_NAME" --restart unless-stopped -p "$HOST_PORT:8000" "${opts[@]}" "$IMAGE" >/dev/null \
        && wait_healthy "$HOST_PORT" "$APP_NAME"; then
        docker rm -f "$previous" >/dev/null 2>&1 || true
        return 0
    fi
    docker rm -f "$APP_NAME" >/dev/null 2>&1 || true
    if exists "$previous"; then
        docker rename "$previous" "$APP_NAME"
        docker start "$APP_NAME" >/dev/null
        wait_healthy "$HOST_PORT" "$APP_NAME" || log "the previous container is not healthy either"
        log "FAILED: rolled back to $(docker container inspect -f '{{.Config.Image}}' "$APP_NAME")"
    else
        log "FAILED: $IMAGE is not healthy and there was no previous container to roll back to"
    fi
    exit 1
}

# Remember the deployment; delete images of this repository beyond the last KEEP_IMAGES deployed.
record_and_prune() {
    local repository=${IMAGE%:*} keep image
    mkdir -p "$(dirname "$HISTORY")"
    echo "$IMAGE" >>"$HISTORY"
    keep=$(tail -n "$KEEP_IMAGES" "$HISTORY")
    docker image ls --format '{{.Repository}}:{{.Tag}}' | while read -r image; do
        if [[ "${image%:*}" == "$repository" ]] && ! grep -qxF "$image" <<<"$keep"; then
            docker image rm "$image" >/dev/null 2>&1 || true
        fi
    done
}

log "deploying $IMAGE"
pull
try_candidate
swap
record_and_prune
log "deployed $IMAGE on port $HOST_PORT"
