# Sourced by .ci/image-build and .ci/image-test: pick a container engine and make it usable here.
#
# Docker when a daemon answers; otherwise podman, installed from Debian's packages when missing.
# Podman runs with its own configuration and storage under $IMAGE_CACHE (outside the image's
# build context), because the machines we test on need settings a stock install lacks:
#   - default_ulimits: the sandbox cannot raise rlimits to podman's default 1048576;
#   - runtime runc and cgroup_manager cgroupfs: crun refuses the hybrid cgroup layout;
#   - the overlay storage driver (vfs takes four times as long and five times the disk).
# Where no registry answers, the Dockerfile's base image is replaced by a stand-in built from
# Debian's packages (mmdebstrap) and tagged with the FROM name, so the Dockerfile stays as is.

IMAGE_NAME=${IMAGE_NAME:-news-monitor:latest}
# Kept between runs on this machine: podman's storage, the stand-in base, the compose binary.
export IMAGE_CACHE=${IMAGE_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/news-monitor-image}
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# What podman needs here, from Debian's packages.
PODMAN_PACKAGES=(podman buildah mmdebstrap uidmap slirp4netns runc)

say() { printf '%s\n' "$*" >&2; }

# One build or test at a time per cache: they share podman's storage and the image's tag.
lock_cache() {
    mkdir -p "$IMAGE_CACHE"
    exec 9>"$IMAGE_CACHE/lock"
    flock -n 9 || { say "waiting for another image build or test on this machine"; flock 9; }
}

# Print "docker" or "podman", or fail with the reason on stderr.
choose_engine() {
    if command -v docker >/dev/null && timeout 10 docker info >/dev/null 2>&1; then
        echo docker
        return
    fi
    if ! command -v podman >/dev/null || ! command -v mmdebstrap >/dev/null; then
        install_podman >&2 || return 1
    fi
    echo podman
}

install_podman() {
    local missing=()
    for package in "${PODMAN_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" \
            || missing+=("$package")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
        say "no docker daemon answers, and podman is missing (${missing[*]}); install them"
        return 1
    fi
    say "installing ${missing[*]} from Debian's packages"
    apt-get update -qq >/dev/null \
        && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# Write podman's configuration and export the variables that point podman at it. Its state and
# locks live beside its storage (file locks, not the machine-wide shared memory segment), so it
# never meets another podman on the machine.
setup_podman() {
    local dir=$IMAGE_CACHE/podman boot
    mkdir -p "$dir/storage"
    # What podman keeps about running containers must not outlive a reboot (it is on disk here).
    boot=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo unknown)
    if [ "$(cat "$dir/boot_id" 2>/dev/null)" != "$boot" ]; then
        rm -rf "$dir/run"
        echo "$boot" >"$dir/boot_id"
    fi
    mkdir -p "$dir/run/libpod"
    cat >"$dir/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
lock_type = "file"
tmp_dir = "$dir/run/libpod"
EOF
    cat >"$dir/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$dir/storage"
runroot = "$dir/run/storage"
EOF
    export CONTAINERS_CONF=$dir/containers.conf
    export CONTAINERS_STORAGE_CONF=$dir/storage.conf
}

# The first FROM of the Dockerfile, fully qualified (python:3.11 -> docker.io/library/python:3.11).
base_image() {
    local name
    name=$(awk 'toupper($1) == "FROM" { print $2; exit }' "$REPO_ROOT/Dockerfile")
    case $name in
        */*/*) ;;
        */*) name=docker.io/$name ;;
        *) name=docker.io/library/$name ;;
    esac
    echo "$name"
}

# The Debian mirror apt uses on this machine (never written into the repository).
debian_mirror() {
    local uri=""
    if compgen -G "/etc/apt/sources.list.d/*.sources" >/dev/null; then
        uri=$(awk '$1 == "URIs:" && $2 !~ /security/ { print $2; exit }' \
            /etc/apt/sources.list.d/*.sources)
    fi
    if [ -z "$uri" ]; then
        uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
            | awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) \
                if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }')
    fi
    [ -n "$uri" ] || { say "no Debian mirror found in /etc/apt/sources.list*"; return 1; }
    echo "$uri"
}

# Make the Dockerfile's base image available to podman: pulled when a registry answers,
# else a stand-in from Debian's packages (cached in $IMAGE_CACHE between runs).
ensure_base() {
    local base suite recipe key tarball mirror
    base=$(base_image)
    if podman image exists "$base"; then
        say "base image: $base ($(base_kind "$base"))"
        return 0
    fi
    if timeout 120 podman pull -q "$base" >/dev/null 2>&1; then
        say "base image: $base (pulled)"
        return 0
    fi
    suite=${base##*-}  # python:3.11.10-slim-bookworm -> bookworm
    recipe="minbase $suite python3 python3-venv passwd ca-certificates netbase tzdata /opt/venv slim"
    key=$(printf '%s' "$recipe" | sha256sum | cut -c1-12)
    tarball=$IMAGE_CACHE/stand-in-$suite-$key.tar
    if [ ! -s "$tarball" ]; then
        mirror=$(debian_mirror) || return 1
        say "no registry answers: building a stand-in for $base from Debian $suite packages"
        mmdebstrap --quiet --variant=minbase --format=tar \
            --include=python3,python3-venv,passwd,ca-certificates,netbase,tzdata \
            --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
            --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
            --customize-hook='chroot "$1" python3 -m venv /opt/venv' \
            --customize-hook='printf "[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n" >"$1/etc/pip.conf"' \
            --customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/*' \
            "$suite" "$tarball.part" "$mirror" >&2 || return 1
        mv "$tarball.part" "$tarball"
    fi
    # Like the official image (slim: no docs, manuals or translations): python and pip first on
    # PATH, UTF-8, python as the command.
    podman import -q \
        --change 'ENV PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change 'CMD ["python3"]' \
        --change "LABEL news-monitor.stand-in=debian-$suite-$key" \
        "$tarball" "$base" >/dev/null || return 1
    say "base image: $base ($(base_kind "$base"))"
}

base_kind() {
    local label
    label=$(podman image inspect --format '{{index .Labels "news-monitor.stand-in"}}' "$1" 2>/dev/null)
    if [ -n "$label" ] && [ "$label" != "<no value>" ]; then
        echo "stand-in from Debian packages, $label, Python $(podman run --rm "$1" python -c \
            'import platform; print(platform.python_version())' 2>/dev/null)"
    else
        echo "as pulled"
    fi
}

# Build $IMAGE_NAME with `engine`; on podman in the docker format, which keeps HEALTHCHECK.
build_image() {
    local engine=$1 args=()
    if [ "$engine" = docker ]; then
        docker build -t "$IMAGE_NAME" "$REPO_ROOT"
        return
    fi
    # HTTPS may go through a proxy whose CA only the host trusts: lend the host's bundle to
    # the build's RUN steps (pip), never to the image.
    if [ -s /etc/ssl/certs/ca-certificates.crt ]; then
        args+=(-v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro)
    fi
    podman build --format docker --pull=never --layers "${args[@]}" -t "$IMAGE_NAME" "$REPO_ROOT"
}
