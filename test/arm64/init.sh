#!/bin/busybox sh
# The arm64 machine's first process: runs the checks the test put in /plan.sh (lines of
# `check ID ARGS...`, each a prefork-check CLI run in a scratch dir of its own), then writes every run's
# files to the console, base64 between two lines the test looks for, and powers off.
/bin/busybox --install -s /bin
export PATH=/opt/node:/usr/bin:/bin:/usr/sbin:/sbin HOME=/root
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmp /tmp
mount -t tmpfs shm /dev/shm
ip link set lo up
# What udev and the module loader give a stock Debian: /dev/stdout and the rest, and the socket
# diagnostics strace asks the kernel for (image.sh put them in /modules; inet_diag, which the others
# use, sorts first).
ln -s /proc/self/fd /dev/fd
ln -s /proc/self/fd/0 /dev/stdin
ln -s /proc/self/fd/1 /dev/stdout
ln -s /proc/self/fd/2 /dev/stderr
for module in /modules/*.ko; do insmod "$module"; done

# One CLI run in /tmp/runs/ID, its scratch dir, which gets its report, kernel view, output and exit code.
check() {
  id=$1
  shift
  dir=/tmp/runs/$id
  mkdir -p "$dir"
  (cd "$dir" && FIXTURE_SCRATCH=$dir PREFORK_CHECK_KERNEL_VIEW=$dir/kernel-view.json NO_COLOR=1 \
    node /opt/check/node_modules/prefork-check/dist/cli.js --json "$dir/report.json" "$@" >"$dir/stdout" 2>"$dir/stderr" </dev/null)
  echo $? >"$dir/status"
  echo "checked $id: $(cat "$dir/status")"
}

echo "=== arm64 machine: $(uname -m) $(uname -r), $(node --version), $(python3 --version)"
. /plan.sh
echo "=== runs"
tar czf - -C /tmp runs 2>/dev/null | base64
echo "=== end"
poweroff -f
