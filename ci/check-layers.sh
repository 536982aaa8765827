#!/usr/bin/env bash
# Layers inside a folder, enforced at link level as the seam is: every
# object of target/iscsi/ and target/scsi/ belongs to one layer, and may
# call only functions of its own layer or of layers below it.  Upward
# notifications go through callbacks (function pointers), which nm does
# not see as references: that is the point.  The layers and each file's
# job are drawn at the top of target/iscsi/iscsi_int.h and
# target/scsi/scsi_int.h; this table must agree with them.
# Usage: ci/check-layers.sh [OBJDIR]   (default build/obj/target)
set -euo pipefail
objdir=${1:-build/obj/target}
fail=0

# check FOLDER LAYER... : layers bottom-up, each a list of object names.
check() {
	local dir=$1
	shift
	local -A layer_of=() def=()
	local i=0 o f s p
	for l in "$@"; do
		for o in $l; do layer_of[$o]=$i; done
		i=$((i + 1))
	done
	for f in "$objdir/$dir"/*.o; do
		o=$(basename "$f" .o)
		if [ -z "${layer_of[$o]+x}" ]; then
			echo "check-layers: target/$dir/$o.c is in no layer (ci/check-layers.sh)" >&2
			fail=1
			continue
		fi
		while read -r s; do def[$s]=$o; done < <(nm -g --defined-only "$f" | awk '{print $3}')
	done
	for f in "$objdir/$dir"/*.o; do
		o=$(basename "$f" .o)
		[ -n "${layer_of[$o]+x}" ] || continue
		while read -r s; do
			p=${def[$s]:-}
			[ -n "$p" ] && [ "$p" != "$o" ] || continue
			if [ "${layer_of[$p]}" -gt "${layer_of[$o]}" ]; then
				echo "check-layers: target/$dir/$o.c calls $s() of $p.c, a layer above it" >&2
				fail=1
			fi
		done < <(nm -u "$f" | awk '{print $2}')
	done
}

# target/iscsi/: the drawing at the top of iscsi_int.h.
check iscsi \
	"pdu crc32c text chap chap_hash acl pool" \
	"conn conn_tx conn_ack" \
	"owed" \
	"task task_rsp" \
	"tmf text_ffp" \
	"session" \
	"login" \
	"server registry discovery devices reconfig retire tport srv_info"

# target/scsi/: the drawing at the top of scsi_int.h.
check scsi \
	"sense cdb lu_stats" \
	"base" \
	"pr pr_in pr_aptpl alua" \
	"reserve" \
	"task_set" \
	"sbc_io" \
	"sbc_cmp sbc_lbp sbc_sanitize sbc_unit xcopy" \
	"sbc spc opcodes" \
	"scsi lu_live"

if [ $fail -ne 0 ]; then
	echo "check-layers: calls must point down; tell a layer above through the callbacks its header declares" >&2
	exit 1
fi
echo "check-layers: OK (iscsi, scsi)"
