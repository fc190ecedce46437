/**
 * The process that builds a sandbox. The server spawns
 *
 *   unshare --user --mount --keep-caps -- bash -c STAGE1 contree STAGE2 BWRAP-ARGS…
 *
 * in a process group of its own, with fd 3 a socket back to the server (the control channel;
 * bwrap also writes its JSON status there).
 *
 * Stage 1 runs in a new user and mount namespace, says `ready` and waits (if the server dies
 * meanwhile, the socket closes and it exits): the server writes the namespace's uid/gid maps and
 * moves the process into the run's cgroup. On `go` it enters the state directory while it still
 * may, and becomes the namespace's root (the map is in place, and `--keep-caps` kept the
 * capabilities to switch) with a parent-death signal: from then on the whole tree dies with the
 * server (bwrap's `--die-with-parent` carries it on).
 *
 * Stage 2 closes every descriptor the server inherited, mounts a tmpfs on /tmp (the run's disk
 * quota, and a place bwrap can use), mounts overlayfs over the image's layers (`userxattr`, so
 * opaque directories work in a user namespace) and runs bwrap on it, its stdio turned into real
 * pipes. After the command it reports `status N`; a run that keeps its changes then waits for
 * `save` (sent once every process of the sandbox is gone) and copies its upper dir out.
 * `flatten` mode mounts a read-only overlay and copies the merged tree instead.
 *
 * Paths are relative to the layers directory: the state directory may sit under a home the
 * sandbox's host uid cannot traverse, and short layer names keep the mount options under 4 KiB.
 */
export const STAGE1 = `set -u
echo ready >&3
IFS= read -r reply <&3 || exit 70
[ "$reply" = go ] || exit 70
cd -- "$CONTREE_STATE/layers" || exit 70
stage2=$1
shift
exec setpriv --reuid=0 --regid=0 $CONTREE_GROUPS --pdeathsig=KILL -- /bin/bash --norc --noprofile -c "$stage2" contree "$@"
`

export const STAGE2 = `set -u
say() { printf '%s\\n' "$*" >&3; }
fail() { say "error $1"; exit 70; }
# With a network (CONTREE_NET=1), fd 4 is bwrap's start gate and runs/<id>/net a layer holding /etc/resolv.conf.
keep=3
[ -z "$CONTREE_NET" ] || keep=4
for fd in /proc/$$/fd/*; do
  fd=\${fd##*/}
  if [ "$fd" -gt $keep ]; then eval "exec $fd>&-"; fi
done
run=../runs/$CONTREE_RUN
[ -z "$CONTREE_NET" ] || CONTREE_LOWERS=$run/net:$CONTREE_LOWERS
if [ -n "$CONTREE_DISK" ]; then
  mount -t tmpfs -o "size=$CONTREE_DISK,mode=0755" contree /tmp 2>&3 || fail "cannot mount the run's scratch space"
  upper=/tmp/upper
  work=/tmp/work
else
  mount -t tmpfs -o "size=1m,mode=0755" contree /tmp 2>&3 || fail "cannot mount the run's scratch space"
  upper=$run/upper
  work=$run/work
fi
if [ "$CONTREE_MODE" = flatten ]; then
  mkdir /tmp/root 2>&3 || fail "cannot create the run's root"
  mount -t overlay overlay -o "lowerdir=$CONTREE_LOWERS,userxattr" /tmp/root 2>&3 || fail "cannot mount the image's layers"
  cp -a /tmp/root/. "$run/flat" 2>&3 || fail "cannot copy the image's files"
  say saved
  exit 0
fi
set -- $CONTREE_ROOT "$@"
# Every process costs milliseconds: one mkdir for all three, and chown only for an unusual owner.
mkdir -m "$1" "$upper" "$work" /tmp/root 2>&3 || fail "cannot create the run's upper dir"
if [ "$2:$3" != 0:0 ]; then chown "$2:$3" "$upper" 2>&3 || fail "cannot create the run's upper dir"; fi
shift 3
if [ -d "$run/seed" ]; then
  cp -a "$run/seed/." "$upper/" 2>&3 || fail "cannot place the run's files"
fi
mount -t overlay overlay -o "lowerdir=$CONTREE_LOWERS,upperdir=$upper,workdir=$work,userxattr" /tmp/root 2>&3 ||
  fail "cannot mount the image's layers"
# Real pipes, not the server's sockets: /dev/stdin, /dev/stdout and /dev/stderr cannot open a socket.
if [ "$CONTREE_STDIN" = 1 ]; then exec 5< <(exec cat); else exec 5</dev/null; fi
exec 6> >(exec cat) 7> >(exec cat >&2)
(
  for limit in $CONTREE_ULIMITS; do ulimit -"\${limit%%=*}" "\${limit#*=}" 2>&3 || exit 70; done
  exec bwrap --bind /tmp/root / --json-status-fd 3 \${CONTREE_NET:+--block-fd 4} "$@" <&5 >&6 2>&7 5<&- 6>&- 7>&-
)
status=$?
exec 5<&- 6>&- 7>&-
say "status $status"
[ "$CONTREE_KEEP" = 1 ] || exit 0
IFS= read -r reply <&3 || exit 0
[ "$reply" = save ] || exit 0
umount /tmp/root 2>&3 || fail "cannot unmount the run's root"
if [ -n "$CONTREE_DISK" ]; then
  cp -a /tmp/upper "$run/out" 2>&3 || fail "cannot save the run's changes"
else
  mv "$upper" "$run/out" 2>&3 || fail "cannot save the run's changes"
fi
say saved
`
