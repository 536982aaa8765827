# Timed steps for ci/test (sourced by bash).  A step is a name and a
# command:
#   step NAME CMD...    runs CMD now; its output comes as it goes;
#   spawn NAME CMD...   starts CMD beside what follows (CMD may be a shell
#                       function calling step: a lane of steps one after
#                       another, timed as a whole too); its output goes to
#                       $STEP_LOGS/NAME.log, printed whole, indented, when
#                       it is joined;
#                       A lane is named lane-*: its row in the table is its
#                       time, its steps have the verdicts;
#   join [NAME...]      waits for spawned commands (all when none named).
# Each step's start (seconds from the beginning), wall time and CPU time
# (user+sys of it and its children) go to $STEP_LOGS, and steps_summary
# prints them as a table in order of start, the failed steps named under
# it; it returns 1 if any step failed.  After a failure no new step starts
# (as make stops at the first failing command); the ones running finish.
STEP_LOGS=${STEP_LOGS:-build/ci-logs}
mkdir -p "$STEP_LOGS"
rm -f "$STEP_LOGS"/*.log "$STEP_LOGS"/*.rc "$STEP_LOGS"/*.time
steps_t0=$EPOCHREALTIME
declare -A steps_pid=() steps_joined=()

# Whole seconds since the start (no fork: a loaded machine forks slowly).
steps_now() {
	local t=$EPOCHREALTIME
	echo $(((${t%.*} - ${steps_t0%.*}) + (10#${t#*.} >= 10#${steps_t0#*.} ? 0 : -1)))
}

# A step failed (its .rc holds neither 0 nor "skipped"), here or in a lane.
steps_failed() {
	local f rc
	for f in "$STEP_LOGS"/*.rc; do
		[ -e "$f" ] || continue
		read -r rc <"$f"
		case $rc in 0 | skipped) ;; *) return 0 ;; esac
	done
	return 1
}

step() {
	local name=$1 rc start
	shift
	if steps_failed; then
		echo "== skipped $name (a step failed)"
		echo skipped >"$STEP_LOGS/$name.rc"
		return 0
	fi
	start=$(steps_now)
	echo "== step $name (at $start s): $*"
	local TIMEFORMAT="$start %R %U %S"
	# bash's time reports on the group's stderr: the time file; the
	# step's own stderr goes where ours goes (fd 3).
	{ time "$@" 2>&3; } 3>&2 2>"$STEP_LOGS/$name.time"
	rc=$?
	echo "$rc" >"$STEP_LOGS/$name.rc"
	if [ "$rc" -ne 0 ]; then
		echo "== FAILED step $name (exit $rc)"
	else
		echo "== done $name ($(steps_wall "$name") s)"
	fi
	return 0
}

spawn() {
	local name=$1
	shift
	if steps_failed; then
		echo "== skipped $name (a step failed)"
		return 0
	fi
	echo "== spawn $name (at $(steps_now) s, beside what follows; log $STEP_LOGS/$name.log): $*"
	# Its own process group (set -m), so that steps_kill ends all of it.
	set -m
	(
		start=$(steps_now)
		TIMEFORMAT="$start %R %U %S"
		{ time "$@" >"$STEP_LOGS/$name.log" 2>&1 </dev/null; } 2>"$STEP_LOGS/$name.time"
		rc=$?
		echo $rc >"$STEP_LOGS/$name.rc.new"
		mv "$STEP_LOGS/$name.rc.new" "$STEP_LOGS/$name.rc"
	) &
	steps_pid[$name]=$!
	set +m
}

join() {
	local names=("$@") n rc
	[ ${#names[@]} -eq 0 ] && names=("${!steps_pid[@]}")
	for n in "${names[@]}"; do
		[ -n "${steps_pid[$n]:-}" ] || continue
		[ -n "${steps_joined[$n]:-}" ] && continue
		wait "${steps_pid[$n]}"
		steps_joined[$n]=1
		rc=$(cat "$STEP_LOGS/$n.rc" 2>/dev/null || echo 1)
		echo "== output of $n (spawned at $(steps_field "$n" 1) s, $(steps_wall "$n") s):"
		sed 's/^/  | /' "$STEP_LOGS/$n.log"
		if [ "$rc" != 0 ]; then
			echo "== FAILED $n (exit $rc; log $STEP_LOGS/$n.log)"
		else
			echo "== done $n"
		fi
	done
}

# steps_times NAME: "start wall user sys" of a step (bash's time line,
# the last line of NAME.time), or nothing.
steps_times() {
	local l last=
	[ -e "$STEP_LOGS/$1.time" ] || return 0
	while read -r l; do last=$l; done <"$STEP_LOGS/$1.time"
	echo "$last"
}
steps_field() {
	local t
	t=($(steps_times "$1"))
	echo "${t[$(($2 - 1))]:-}"
}
steps_wall() {
	local w
	w=$(steps_field "$1" 2)
	echo "${w%.*}"
}

# Ends the spawned commands that are still running (each its process
# group); for an interrupted run.
steps_kill() {
	local n
	for n in "${!steps_pid[@]}"; do
		[ -n "${steps_joined[$n]:-}" ] || kill -- -"${steps_pid[$n]}" 2>/dev/null
	done
}

steps_summary() {
	local f n rc failed=()
	join
	echo
	echo "== make test: steps in order of start (seconds from the beginning; cpu = user+sys)"
	for f in "$STEP_LOGS"/*.rc; do
		[ -e "$f" ] || continue
		n=$(basename "$f" .rc)
		read -r rc <"$f"
		case $rc in 0 | skipped) ;; *) failed+=("$n") ;; esac
	done
	for f in "$STEP_LOGS"/*.rc; do
		[ -e "$f" ] || continue
		n=$(basename "$f" .rc)
		read -r rc <"$f"
		echo "$n $rc $(steps_times "$n")"
	done | awk -v total="$(steps_now)" '
		{ st = NF >= 3 ? $3 : 999999
		  res = $2 == 0 ? "ok" : $2 == "skipped" ? "skipped" : "FAILED (exit " $2 ")"
		  if ($1 ~ /^lane-/) res = "(its steps: the rows it spans)"
		  if (NF >= 6)
			row[NR] = sprintf("   %-18s %6d %6.0f %6.0f  %s", $1, st, $4, $5 + $6, res)
		  else
			row[NR] = sprintf("   %-18s %6s %6s %6s  %s", $1, "-", "-", "-", res)
		  key[NR] = st }
		END { printf "   %-18s %6s %6s %6s  %s\n", "step", "start", "wall", "cpu", "result"
		      n = NR
		      for (i = 1; i <= n; i++) idx[i] = i
		      for (i = 2; i <= n; i++)
			for (j = i; j > 1 && key[idx[j - 1]] > key[idx[j]]; j--) {
				t = idx[j]; idx[j] = idx[j - 1]; idx[j - 1] = t }
		      for (i = 1; i <= n; i++) print row[idx[i]]
		      printf "   %-18s %6d %6d\n", "total", 0, total }'
	if [ ${#failed[@]} -ne 0 ]; then
		echo "== make test FAILED: ${failed[*]} (logs in $STEP_LOGS/)"
		return 1
	fi
	echo "== make test: every step passed"
}
