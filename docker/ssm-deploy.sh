#!/usr/bin/env bash
# Deploy IMAGE to the EC2 instance by SSM Run Command and wait for the outcome.
#
#   IMAGE=<registry>/<repository>:<tag> AWS_REGION=<region> INSTANCE_ID=i-... docker/ssm-deploy.sh
#
# Runs where AWS credentials are (the GitHub workflow, after configure-aws-credentials). The
# host-side script, docker/deploy.sh, travels inside the command (base64), is installed on the
# host as /usr/local/sbin/music-recommender-deploy and run there with IMAGE and AWS_REGION.
# Exits non-zero unless the command succeeded; the host's output is printed either way.
set -euo pipefail
cd "$(dirname "$0")/.."

: "${IMAGE:?}" "${AWS_REGION:?}" "${INSTANCE_ID:?}"
WAIT_SECONDS="${WAIT_SECONDS:-900}"
TARGET=/usr/local/sbin/music-recommender-deploy

PARAMETERS=$(mktemp)
trap 'rm -f "$PARAMETERS"' EXIT
python3 - "$IMAGE" "$AWS_REGION" "$(base64 -w0 docker/deploy.sh)" "$TARGET" >"$PARAMETERS" <<'EOF'
import json, shlex, sys
image, region, script, target = sys.argv[1:]
print(json.dumps({"commands": [
    "set -eu",
    f"echo {shlex.quote(script)} | base64 -d > {target}",
    f"chmod 0755 {target}",
    f"IMAGE={shlex.quote(image)} AWS_REGION={shlex.quote(region)} {target}",
]}))
EOF

COMMAND_ID=$(aws ssm send-command \
    --region "$AWS_REGION" \
    --instance-ids "$INSTANCE_ID" \
    --document-name AWS-RunShellScript \
    --comment "deploy ${IMAGE##*/}" \
    --timeout-seconds "$WAIT_SECONDS" \
    --parameters "file://$PARAMETERS" \
    --query Command.CommandId --output text)
echo "SSM command $COMMAND_ID sent to $INSTANCE_ID"

STATUS=Pending
DEADLINE=$((SECONDS + WAIT_SECONDS + 60))
while ((SECONDS < DEADLINE)); do
    sleep 10
    STATUS=$(aws ssm get-command-invocation --region "$AWS_REGION" --command-id "$COMMAND_ID" \
        --instance-id "$INSTANCE_ID" --query Status --output text 2>/dev/null || echo Pending)
    case "$STATUS" in
        Pending | InProgress | Delayed) continue ;;
        *) break ;;
    esac
done

for stream in StandardOutputContent StandardErrorContent; do
    echo "----- $stream"
    aws ssm get-command-invocation --region "$AWS_REGION" --command-id "$COMMAND_ID" \
        --instance-id "$INSTANCE_ID" --query "$stream" --output text || true
done
echo "SSM command status: $STATUS"
[[ "$STATUS" == Success ]]
