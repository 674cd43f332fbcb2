#!/usr/bin/env bash
# Build a local Debian bookworm base image with Python 3.11, for machines that can
# reach Debian's mirror but no container registry (so `python:3.11-slim` cannot be pulled).
#
#   docker/make-base-image.sh [IMAGE]      (default: localhost/music-recommender-base:bookworm)
#
# debootstrap --variant=minbase into a temporary directory, then `podman import`.
# Debian bookworm's python3 is 3.11, the version requirements.txt is pinned for.
# The mirror is the one this machine's apt uses (/etc/apt/sources.list*), so the
# script works wherever `apt-get install` does. Needs root, debootstrap and podman.
set -euo pipefail

IMAGE="${1:-localhost/music-recommender-base:bookworm}"
SUITE=bookworm
PACKAGES=python3,python3-venv,python3-pip,ca-certificates
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

# The first Debian archive URI apt is configured with (deb822 .sources or one-line .list
# format), skipping the security archive, which carries only updates.
debian_mirror() {
    local uri
    uri=$(
        { grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{for (i = 2; i <= NF; i++) print $i}'
          grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
              | sed -E 's/^deb (\[[^]]*\] )?//' | awk '{print $1}'
        } | grep -E '/debian/?$' | grep -v security | head -n 1
    ) || true
    echo "${uri:-http://deb.debian.org/debian}"
}

ROOTFS=""
cleanup() { if [[ -n "$ROOTFS" ]]; then rm -rf "$ROOTFS"; fi; }
trap cleanup EXIT

main() {
    local mirror
    mirror=$(debian_mirror)
    ROOTFS=$(mktemp -d /var/tmp/music-recommender-rootfs.XXXXXX)

    echo "debootstrap $SUITE from $mirror into $ROOTFS" >&2
    local keyring_args=()
    if [[ -f "$KEYRING" ]]; then keyring_args=(--keyring "$KEYRING"); fi
    debootstrap --variant=minbase "${keyring_args[@]}" --include="$PACKAGES" "$SUITE" "$ROOTFS" "$mirror" >&2

    # Package lists and downloaded .debs are dead weight in an image.
    rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/log/*.log
    chroot "$ROOTFS" python3 -c 'import ensurepip, sys; assert sys.version_info[:2] == (3, 11), sys.version'

    tar --numeric-owner -C "$ROOTFS" -c . \
        | podman import --change 'CMD ["/bin/bash"]' --change 'ENV LANG=C.UTF-8' - "$IMAGE" >&2
    echo "$IMAGE"
}

main "$@"
