#!/usr/bin/env bash
# A Debian trixie chroot with the real GIMP 3, for the tests in the real application.
#
#   tests/hosts/gimp_chroot.sh prepare          create it (or reuse it when complete); print its path
#   tests/hosts/gimp_chroot.sh run CMD [ARG..]  run CMD inside it, /proc mounted only meanwhile
#   tests/hosts/gimp_chroot.sh path             print its path
#
# The chroot lives outside the repository, in $SKINSMOOTH_GIMP_ROOT (default
# /var/cache/skinsmooth/gimp-trixie), and is reused once the marker file written
# at the very end of `prepare` exists. Safe to re-run after an interruption.
# Mounts are made in a private mount namespace (unshare) and also unmounted by a
# trap, so nothing stays mounted inside the chroot. Needs root.
set -euo pipefail

ROOT="${SKINSMOOTH_GIMP_ROOT:-/var/cache/skinsmooth/gimp-trixie}"
SUITE=trixie
PACKAGES=(gimp python3-numpy python3-scipy python3-gi xvfb xauth xdotool)
# Bump when PACKAGES or the preparation changes: an older marker is then redone.
STAMP="skinsmooth-gimp-chroot v3 ${SUITE} ${PACKAGES[*]}"
MARKER="$ROOT/.skinsmooth-ready"

log() { echo "gimp_chroot: $*" >&2; }
die() { log "error: $*"; exit 1; }

# The Debian mirror already configured for apt on this machine (deb822 or one-line format).
debian_mirror() {
    if [[ -n "${SKINSMOOTH_DEBIAN_MIRROR:-}" ]]; then echo "$SKINSMOOTH_DEBIAN_MIRROR"; return; fi
    local uri
    uri=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null \
        | sed -n 's/^URIs:[[:space:]]*//p' | tr ' ' '\n' | grep -E '/debian/?$' | head -n1 || true)
    if [[ -z "$uri" ]]; then
        uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
            | awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^(https?|ftp):/) { print $i; break } }' \
            | grep -E '/debian/?$' | head -n1 || true)
    fi
    echo "${uri:-http://deb.debian.org/debian}"
}

# Host apt is shared with other jobs: wait for its locks instead of failing.
host_apt() {
    local attempt
    for attempt in $(seq 1 60); do
        if apt-get -o DPkg::Lock::Timeout=60 "$@"; then return 0; fi
        log "host apt-get $1 failed (lock held by another install?); retry $attempt in 10 s"
        sleep 10
    done
    die "host apt-get $* kept failing"
}

# Anything mounted at or below $ROOT (as seen from this mount namespace)?
mounted_inside() { awk -v r="$ROOT" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/mounts; }

unmount_inside() {
    local m
    for m in $(mounted_inside | sort -r); do umount -l "$m" 2>/dev/null || true; done
}

# Remove a half-made chroot, refusing to if anything is still mounted inside it.
remove_partial() {
    [[ -e "$ROOT" ]] || return 0
    unmount_inside
    if [[ -n "$(mounted_inside)" ]]; then
        die "$ROOT has mounts inside ($(mounted_inside | tr '\n' ' ')); unmount them first"
    fi
    log "removing the incomplete chroot $ROOT"
    rm -rf --one-file-system -- "$ROOT"
}

# Run "$@" in a private mount namespace with /proc mounted in the chroot; the
# mount disappears with the namespace, and the trap unmounts it explicitly too.
in_chroot() {
    unshare --mount --propagation private -- /bin/bash -euc '
        root=$1; shift
        trap "umount -l \"\$root/proc\" 2>/dev/null || true" EXIT
        mount -t proc proc "$root/proc"
        chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin \
            LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
    ' bash "$ROOT" "$@"
}

prepare() {
    [[ $EUID -eq 0 ]] || die "must run as root (debootstrap and chroot)"
    mkdir -p "$(dirname "$ROOT")"
    exec 9>"$ROOT.lock"
    flock 9  # one preparation at a time; a second caller waits, then finds the marker
    if [[ -f "$MARKER" && "$(cat "$MARKER")" == "$STAMP" ]]; then
        log "reusing $ROOT"
        echo "$ROOT"
        return
    fi
    local start=$SECONDS
    # debootstrap completed (its work folder is gone and apt is there): keep it, redo apt only.
    if [[ -d "$ROOT/debootstrap" || ! -x "$ROOT/usr/bin/apt-get" ]]; then
        remove_partial
        if ! command -v debootstrap >/dev/null; then
            log "installing debootstrap on the host"
            host_apt install -y -qq --no-install-recommends debootstrap >&2
        fi
        local mirror
        mirror=$(debian_mirror)
        log "debootstrap $SUITE from $mirror into $ROOT"
        # Private namespace: debootstrap's own /proc and /sys mounts vanish even if it is killed.
        unshare --mount --propagation private -- \
            debootstrap --variant=minbase "$SUITE" "$ROOT" "$mirror" >&2
    fi
    rm -f "$MARKER"
    log "installing ${PACKAGES[*]} in the chroot"
    in_chroot apt-get update -qq >&2
    in_chroot apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >&2
    in_chroot apt-get clean >&2
    in_chroot gimp-console-3.0 --version >&2
    echo "$STAMP" >"$MARKER"
    log "ready in $((SECONDS - start)) s: $ROOT"
    echo "$ROOT"
}

case "${1:-prepare}" in
    prepare) prepare ;;
    path) echo "$ROOT" ;;
    run)
        shift
        [[ $# -gt 0 ]] || die "usage: $0 run CMD [ARG...]"
        [[ -f "$MARKER" ]] || die "$ROOT is not prepared; run: $0 prepare"
        in_chroot "$@"
        ;;
    *) die "usage: $0 {prepare|run CMD [ARG...]|path}" ;;
esac
