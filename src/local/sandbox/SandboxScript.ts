/**
 * The process that builds a sandbox. The server spawns
 *
 *   bash -c STAGE0 contree STAGE1 STAGE2 CGROUP-PROCS-FILES…
 *
 * in a process group of its own, with fd 3 a socket back to the server (the control channel;
 * bwrap also writes its JSON status there). Everything a run does not choose is done ahead of
 * demand, while the process waits in the server's pool (SandboxPool): a run pays for its overlay
 * mount (often not even that) and bwrap.
 *
 * Stage 0 joins the sandbox's cgroup (by itself: the move costs milliseconds per hierarchy, which
 * the server's event loop need not spend) and becomes `unshare --user --mount --keep-caps`.
 *
 * Stage 1 runs in a new user and mount namespace, says `ready` and waits (if the server dies
 * meanwhile, the socket closes and it exits): the server writes the namespace's uid/gid maps. On
 * `go` it enters the state directory while it still may, and becomes the namespace's root (the
 * map is in place, and `--keep-caps` kept the capabilities to switch) with a parent-death
 * signal: from then on the whole tree dies with the server (bwrap's `--die-with-parent` carries
 * it on).
 *
 * Stage 2 first prepares: it closes every descriptor the server inherited, sets the namespace's
 * `user.max_user_namespaces` to 0 (what bwrap's `--disable-userns` does, without the nested user
 * namespace it needs, which would map one id only), mounts a tmpfs on
 * /tmp (the run's disk quota, and a place bwrap can use), makes the upper dir there, starts the
 * relays that turn the server's sockets into the real pipes bwrap's stdio needs and, with the
 * upper dir on the tmpfs, mounts the image the server expects next (CONTREE_NEXT_*: the last
 * run's) under /tmp/next. It says `prepared` and waits for `run ID`.
 *
 * The run's parameters are in `runs/ID/launch`, NUL-separated: mode, keep (1/0), overlayfs
 * `lowerdir`, the image root's octal mode, its `uid:gid`, whether bwrap waits on fd 4 until the
 * server has the run's network up (1/0), the gid and comma-separated supplementary groups of an
 * image's `User` (empty for root), then the command; bwrap's options are in `runs/ID/args`, which
 * it reads from a descriptor (`--args`), and it starts with an empty environment: the sandbox's
 * pid 1 shows nothing of the host in its command line or environment. Unless the
 * image is the one mounted ahead, it mounts overlayfs over the
 * image's layers (`userxattr`, so opaque directories work in a user namespace); then it runs
 * bwrap on the merged tree, with the seccomp filter (`sandbox/seccomp.bpf`, see Seccomp) on fd 8. After the command it reports `status N`; a run that keeps its
 * changes then waits for `save` (sent once every process of the sandbox is gone, and its usage
 * read), copies its upper dir out and lists its opaque directories (an xattr Node cannot read)
 * in `runs/ID/opaque`, both at once. `flatten` mode mounts a read-only overlay and copies the
 * merged tree instead.
 *
 * Paths are relative to the layers directory: the state directory may sit under a home the
 * sandbox's host uid cannot traverse, and short layer names keep the mount options under 4 KiB.
 * Every process costs a millisecond or more on the run's path: chmod, chown and cp run only
 * when a run needs them.
 */
/** Lists the opaque directories under the working directory, in the form parseOpaqueDirs reads. */
export const LIST_OPAQUE_DIRS = "getfattr --recursive --physical --no-dereference --dump --match '^user\\.overlay\\.opaque$' ."

export const STAGE0 = `set -u
stage1=$1 stage2=$2
shift 2
for procs in "$@"; do
  echo $$ 2>&3 >"$procs" || { echo "error cannot join the sandbox's control group" >&3; exit 70; }
done
exec unshare --user --mount --keep-caps -- /bin/bash --norc --noprofile -c "$stage1" contree "$stage2"
`

export const STAGE1 = `set -u
echo ready >&3
IFS= read -r reply <&3 || exit 70
[ "$reply" = go ] || exit 70
cd -- "$CONTREE_STATE/layers" || exit 70
exec setpriv --reuid=0 --regid=0 $CONTREE_GROUPS --pdeathsig=KILL -- /bin/bash --norc --noprofile -c "$1" contree
`

export const STAGE2 = `set -u
say() { printf '%s\\n' "$*" >&3; }
fail() { say "error $1"; exit 70; }
# fd 4 stays: bwrap's start gate for a run with a network.
for fd in /proc/$$/fd/*; do
  fd=\${fd##*/}
  if [ "$fd" -gt 4 ]; then eval "exec $fd>&-"; fi
done
# Ahead of demand: the scratch space, the upper dir when it lives there, and the stdio relays.
mount -t tmpfs -o "size=\${CONTREE_DISK:-1m},mode=0755" contree /tmp 2>&3 || fail "cannot mount the run's scratch space"
# No user namespace can be made below this one (bwrap's --disable-userns, without the nested namespace it needs).
echo 0 >/proc/sys/user/max_user_namespaces 2>&3 || fail "cannot disable new user namespaces"
mkdir -m 755 /tmp/root \${CONTREE_DISK:+/tmp/upper /tmp/work} 2>&3 || fail "cannot create the run's upper dir"
premounted=
if [ -n "$CONTREE_DISK" ] && [ -n "$CONTREE_NEXT_LOWERS" ]; then
  # A guess: when any step fails, runs just take the path without it.
  mkdir -m 755 /tmp/next /tmp/next/upper /tmp/next/work /tmp/next/root 2>/dev/null &&
    { [ "$CONTREE_NEXT_MODE" = 755 ] || chmod "$CONTREE_NEXT_MODE" /tmp/next/upper 2>/dev/null; } &&
    { [ "$CONTREE_NEXT_OWNER" = 0:0 ] || chown "$CONTREE_NEXT_OWNER" /tmp/next/upper 2>/dev/null; } &&
    mount -t overlay overlay -o "lowerdir=$CONTREE_NEXT_LOWERS,upperdir=/tmp/next/upper,workdir=/tmp/next/work,userxattr" \
      /tmp/next/root 2>/dev/null &&
    premounted=$CONTREE_NEXT_LOWERS
fi
# Found now, off the run's path: bwrap starts with an empty environment, PATH included.
bwrap=$(type -P bwrap) || fail "cannot find bwrap"
# Real pipes, not the server's sockets: /dev/stdin, /dev/stdout and /dev/stderr cannot open a socket.
exec 5< <(exec cat) 6> >(exec cat) 7> >(exec cat >&2)
say prepared

IFS=' ' read -r verb id <&3 || exit 0
[ "$verb" = run ] || exit 0
run=../runs/$id
mapfile -d '' -t launch < "$run/launch" 2>&3 || fail "cannot read the run's parameters"
mode=\${launch[0]} keep=\${launch[1]} lowers=\${launch[2]} rootmode=\${launch[3]} owner=\${launch[4]} gate=\${launch[5]}
gid=\${launch[6]} groups=\${launch[7]}
set -- "\${launch[@]:8}"
if [ -n "$CONTREE_DISK" ]; then
  upper=/tmp/upper work=/tmp/work
else
  # The server made these (mode 755, owned by the sandbox's root): no process on the run's path.
  upper=$run/upper work=$run/work
fi
root=/tmp/root
if [ "$mode" = flatten ]; then
  mount -t overlay overlay -o "lowerdir=$lowers,userxattr" /tmp/root 2>&3 || fail "cannot mount the image's layers"
  cp -a /tmp/root/. "$run/flat" 2>&3 || fail "cannot copy the image's files"
  say saved
  exit 0
fi
if [ -n "$premounted" ] && [ "$lowers" = "$premounted" ]; then
  # The same layers give the same root: its mode and owner were set with the mount.
  upper=/tmp/next/upper root=/tmp/next/root
else
  # The upper dir's root is the merged tree's root: it takes the image root's mode and owner.
  if [ "$rootmode" != 755 ]; then chmod "$rootmode" "$upper" 2>&3 || fail "cannot create the run's upper dir"; fi
  if [ "$owner" != 0:0 ]; then chown "$owner" "$upper" 2>&3 || fail "cannot create the run's upper dir"; fi
  mount -t overlay overlay -o "lowerdir=$lowers,upperdir=$upper,workdir=$work,userxattr" /tmp/root 2>&3 ||
    fail "cannot mount the image's layers"
fi
(
  for limit in $CONTREE_ULIMITS; do ulimit -"\${limit%%=*}" "\${limit#*=}" 2>&3 || exit 70; done
  # A run with a network starts its command only once the server has brought its interface up.
  gated=()
  if [ "$gate" = 1 ]; then gated=(--block-fd 4); else exec 4<&-; fi
  # An image's User: bwrap (still uid 0, for its mounts) starts in the user's groups, which it keeps
  # and the command inherits; the command switches its uid itself.
  as=()
  if [ -n "$gid" ]; then
    as=(setpriv --regid="$gid")
    if [ -n "$groups" ]; then as+=(--groups="$groups"); else as+=(--clear-groups); fi
  fi
  # The seccomp filter (see Seccomp.ts), which bwrap loads just before it execs the command, on fd 8; its options on fd 9.
  exec 8<../seccomp.bpf 9<"$run/args" || { say "error cannot read the run's sandbox settings"; exit 70; }
  exec -c "\${as[@]}" "$bwrap" --bind "$root" / --json-status-fd 3 --seccomp 8 --args 9 "\${gated[@]}" -- "$@" <&5 >&6 2>&7 5<&- 6>&- 7>&-
)
status=$?
exec 5<&- 6>&- 7>&-
say "status $status"
[ "$keep" = 1 ] || exit 0
IFS= read -r reply <&3 || exit 0
[ "$reply" = save ] || exit 0
# Nothing writes to the upper dir any more (the sandbox is gone): it is read while still mounted.
shopt -s nullglob dotglob
changes=("$upper"/*)
lister=
if [ \${#changes[@]} -gt 0 ]; then
  (cd "$upper" && exec ${LIST_OPAQUE_DIRS}) >"$run/opaque" 2>&3 &
  lister=$!
fi
if [ -n "$CONTREE_DISK" ]; then
  cp -a "$upper" "$run/out" 2>&3 || fail "cannot save the run's changes"
fi
if [ -n "$lister" ]; then wait "$lister" || fail "cannot read the opaque directories of the run's changes"; fi
if [ -z "$CONTREE_DISK" ]; then
  umount /tmp/root 2>&3 || fail "cannot unmount the run's root"
  mv "$upper" "$run/out" 2>&3 || fail "cannot save the run's changes"
fi
say saved
`
