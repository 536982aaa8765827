#!/usr/bin/env bash
# Install what utarget needs from Debian.  "build" is enough for make/make
# run (librbd-dev: the header of the rbd: backstore, which loads librbd at
# run time); "test" adds what make test uses; "rbd" what make test-rbd
# adds; "coverage" what make coverage adds (its rbd step needs "rbd" too).  As root we apt-get; otherwise we
# print the exact command.
set -euo pipefail
what=${1:-build}
pkgs=(gcc make pkg-config liburing-dev libisal-dev librbd-dev libpcap-dev nettle-dev)
if [ "$what" != build ]; then
	# unit tests, conformance and daemon tests
	pkgs+=(libcmocka-dev libiscsi-bin libiscsi-dev iproute2 clang-format)
	# fuzz-smoke and fuzz-regress: clang with libFuzzer and sanitizers
	pkgs+=(clang libclang-rt-14-dev)
	# make deb-test and man-check: the package built, linted, installed
	pkgs+=(dpkg-dev debhelper lintian mandoc man-db python3 systemd
	       util-linux adduser)
	# make chart-test: charts opened in a headless browser
	pkgs+=(chromium fonts-dejavu-core)
	# make interop: a kernel initiator in a QEMU VM
	pkgs+=(qemu-system-x86 linux-image-amd64 busybox-static open-iscsi
	       sg3-utils e2fsprogs xfsprogs fio cpio kmod
	       qemu-utils qemu-block-extra syslinux syslinux-common mtools
	       dosfstools multipath-tools)
fi
if [ "$what" = deb ]; then
	pkgs+=(dpkg-dev debhelper lintian mandoc man-db python3 systemd
	       util-linux adduser libiscsi-bin iproute2)
fi
if [ "$what" = fuzz ]; then
	pkgs+=(clang libclang-rt-14-dev afl++ llvm lcov python3)
fi
if [ "$what" = bench ] || [ "$what" = profile ]; then
	pkgs+=(tgt libiscsi-bin libiscsi-dev iperf3 gnuplot-nox jq)
fi
if [ "$what" = rbd ]; then
	# make test-rbd and the RBD rows of make bench: a single-node Ceph
	# cluster, tcmu-runner's handler plugins, qemu-img, tgt's bs_rbd
	pkgs+=(ceph-mon ceph-osd ceph-common uuid-runtime tcmu-runner
	       qemu-utils libiscsi-bin libiscsi-dev tgt tgt-rbd)
fi
if [ "$what" = profile ]; then
	pkgs+=(linux-perf strace)
fi
if [ "$what" = coverage ]; then
	# make coverage: lcov, and the fuzz harnesses' clang builds (above)
	pkgs+=(lcov llvm)
fi
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
	echo "deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null
	apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
else
	echo "deps: missing packages; run:" >&2
	echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
	exit 1
fi
