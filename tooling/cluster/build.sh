#!/usr/bin/env bash
# Builds, from the Go module proxy (no GitHub, no dl.k8s.io), kind and what a kind node image is
# made of where no registry serves kind's own (tooling/cluster/node-image.sh):
#   kind          (sigs.k8s.io/kind: the cluster tool itself)
#   kubectl       (k8s.io/kubernetes; the only one of these a published node image needs)
#   kubeadm kubelet kube-apiserver kube-controller-manager kube-scheduler kube-proxy  (k8s)
#   etcd          (go.etcd.io/etcd/server/v3)
#   coredns       (github.com/coredns/coredns; the cluster DNS)
#   crictl        (sigs.k8s.io/cri-tools; kind load asks it which images a node has)
#   local-path-provisioner  (github.com/rancher/local-path-provisioner; kind's default storage)
# into $KIT_CACHE/cluster/<k8s version>/bin/ and prints that directory on stdout.
#
# Usage: tooling/cluster/build.sh [--prepare] [kind] [kubectl] [k8s] [etcd] [coredns] [crictl]
#        [local-path-provisioner]   (none = all; k8s includes kubectl)
# --prepare: only the build modules and their downloads, no compile (a new machine downloads while
# it runs the Docker suite: kit, start_prefetch); the build after it only compiles.
# Idempotent: a binary whose stamp file (bin/.<name>.stamp) matches version + build flags is skipped.
# Versions can be overridden with KIT_K8S_VERSION, KIT_ETCD_VERSION, KIT_COREDNS_VERSION,
# KIT_KIND_VERSION, KIT_CRICTL_VERSION, KIT_LOCAL_PATH_VERSION.
# Go >= 1.24 must be on PATH (or in /usr/local/go/bin). GOMODCACHE/GOCACHE stay at Go's defaults.
# Every go command runs under `nice -n 10`; times and peak RSS go to bin/../build.log.
# Pinned versions and paths: common.sh.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
# Bump when the way modules are prepared or built changes: forces a fresh module dir and rebuild.
RECIPE=2
K8S_COMMANDS=(kubeadm kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)

OUT="$CLUSTER_CACHE/$K8S_VERSION"
LOG="$OUT/build.log"

command -v go >/dev/null || PATH="/usr/local/go/bin:$PATH"
command -v go >/dev/null || die "Go >= 1.24 is needed to build the cluster binaries: put it on PATH and run again."
go_minor="$(go env GOVERSION | sed -nE 's/^go1\.([0-9]+).*/\1/p')"
[ "${go_minor:-0}" -ge 24 ] || die "Go >= 1.24 is needed (found $(go env GOVERSION)): 'go get -tool' and k8s $K8S_VERSION need it."
export CGO_ENABLED=0 GOWORK=off GO111MODULE=on GOFLAGS="-buildvcs=false"
mkdir -p "$BIN"
# One build at a time per cache (a second run waits, then finds everything up to date).
if command -v flock >/dev/null; then exec 9>"$CLUSTER_CACHE/.build.lock"; flock 9; fi

# timed LABEL CMD...: run CMD under nice -n 10, log wall time and the largest process's peak RSS.
timed() {
  local label="$1" rc=0 t0 tf ef wall rss msg; shift
  t0=$(date +%s); tf="$(mktemp)"; ef="$(mktemp)"
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -f '%e %M' -o "$tf" nice -n 10 "$@" 2>"$ef" || rc=$?
    read -r wall rss < <(tail -n1 "$tf") || true
    msg="${wall}s wall, peak RSS $(( ${rss:-0} / 1024 )) MiB (largest process)"
  else
    nice -n 10 "$@" 2>"$ef" || rc=$?
    msg="$(( $(date +%s) - t0 ))s wall"
  fi
  # go's "downloading/upgraded/added" chatter goes to the log only; anything else is shown.
  cat "$ef" >>"$LOG"
  grep -vE '^go: (downloading|upgraded|added|finding) ' "$ef" >&2 || true
  rm -f "$tf" "$ef"
  [ "$rc" -eq 0 ] || die "$label failed (exit $rc); full output in $LOG"
  progress "$label: $msg"
  printf '%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$label" "$msg" >>"$LOG"
}

# match_go_directives GOMOD: give the build module the dependency's go line and godebug default, so
# the binary keeps the GODEBUG defaults its release was built with (not those of the local Go).
match_go_directives() {
  local godebug goline edits=()
  godebug="$(sed -nE 's/^godebug[[:space:]]+(default=[^[:space:]]+).*/\1/p' "$1")"
  goline="$(sed -nE 's/^go[[:space:]]+([0-9.]+).*/\1/p' "$1")"
  [ -n "$goline" ] && edits+=(-go="$goline")
  [ -n "$godebug" ] && edits+=(-godebug="$godebug")
  [ ${#edits[@]} -eq 0 ] || go mod edit "${edits[@]}"
}

# build_flags LDFLAGS PKG [TAGS]: the string a stamp records (with the version).
build_flags() { printf '%s' "recipe=$RECIPE -trimpath -tags=${3:-} -ldflags=$1 $2"; }
# fresh NAME VERSION FLAGS: true if bin/NAME exists and was built with this version and these flags.
fresh() { [ -x "$BIN/$1" ] && [ "$(cat "$BIN/.$1.stamp" 2>/dev/null)" = "$2 $(printf '%s' "$3" | sha256sum | cut -c1-12)" ]; }
stamp() { printf '%s %s\n' "$2" "$(printf '%s' "$3" | sha256sum | cut -c1-12)" >"$BIN/.$1.stamp"; }

# mod_field JSON_FILE FIELD: a string field of `go mod download -json` output.
mod_field() { sed -nE "s/^[[:space:]]*\"$2\": \"(.*)\",?\$/\1/p" "$1" | head -n1; }

# ready DIR: the build module in DIR was prepared by this recipe.  done_ready DIR: mark it so.
ready() { [ "$(cat "$1/.ready" 2>/dev/null)" = "recipe=$RECIPE" ]; }
done_ready() { echo "recipe=$RECIPE" >"$1/.ready"; }
# new_module DIR PATH: a fresh, empty main module in DIR.
new_module() {
  rm -rf "$1"; mkdir -p "$1"
  (cd "$1" && go mod init "$2" >/dev/null 2>&1)
}

# go_build NAME VERSION LDFLAGS PKG [TAGS]: build one binary unless fresh, then stamp it.
go_build() {
  local name="$1" version="$2" ldflags="$3" pkg="$4" tags="${5:-}"
  local flags; flags="$(build_flags "$ldflags" "$pkg" "$tags")"
  if fresh "$name" "$version" "$flags"; then progress "$name $version: up to date"; return 0; fi
  timed "go build $name $version" go build -trimpath -tags="$tags" -ldflags="$ldflags" -o "$BIN/.$name.tmp" "$pkg"
  mv -f "$BIN/.$name.tmp" "$BIN/$name"
  stamp "$name" "$version" "$flags"
}

build_k8s() {
  local src="$CLUSTER_CACHE/src-$K8S_VERSION" staging_version="v0.${K8S_VERSION#v1.}" cmd missing=()
  local commands=("$@")
  for cmd in "${commands[@]}"; do fresh "$cmd" "$K8S_VERSION" "$(k8s_flags "$cmd")" || missing+=("$cmd"); done
  if [ ${#missing[@]} -eq 0 ]; then progress "Kubernetes $K8S_VERSION: all binaries up to date"; return 0; fi

  if ! ready "$src"; then
    progress "Kubernetes $K8S_VERSION: preparing the build module in $src"
    new_module "$src" kit.invalid/k8s-build
    cd "$src"
    timed "go mod download k8s.io/kubernetes@$K8S_VERSION" go mod download -json "k8s.io/kubernetes@$K8S_VERSION" >k8s.json
    local gomod; gomod="$(mod_field k8s.json GoMod)"
    [ -f "$gomod" ] || die "no go.mod for k8s.io/kubernetes@$K8S_VERSION (see $src/k8s.json)"
    # Every staging module (k8s.io/X => ./staging/src/k8s.io/X upstream) is required at v0.0.0 and
    # must be replaced by the published tag v0.MINOR.PATCH; generated, not hard-coded.
    local staging edits=(-require="k8s.io/kubernetes@$K8S_VERSION")
    staging="$(sed -nE 's#^[[:space:]]*(replace[[:space:]]+)?([^[:space:]]+)[[:space:]]+=>[[:space:]]+\./staging/.*#\2#p' "$gomod")"
    [ -n "$staging" ] || die "no staging replaces found in $gomod"
    for m in $staging; do edits+=(-replace="$m=$m@$staging_version"); done
    go mod edit "${edits[@]}"
    match_go_directives "$gomod"
    progress "Kubernetes $K8S_VERSION: $(echo "$staging" | wc -w) staging modules replaced by $staging_version"
    local pkgs=()
    for cmd in "${K8S_COMMANDS[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$cmd@$K8S_VERSION"); done
    timed "go get -tool (resolve + download dependencies)" go get -tool "${pkgs[@]}"
    done_ready "$src"
  fi
  [ "$PREPARE" = 0 ] || return 0
  cd "$src"
  for cmd in "${commands[@]}"; do
    go_build "$cmd" "$K8S_VERSION" "$(k8s_ldflags)" "k8s.io/kubernetes/cmd/$cmd" "$K8S_TAGS"
  done
}

# Upstream's hack/lib/golang.sh builds with these tags; hack/lib/version.sh sets these variables.
K8S_TAGS="selinux,notest,grpcnotrace"
k8s_ldflags() {
  local v="$K8S_VERSION" minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
  local src="$CLUSTER_CACHE/src-$K8S_VERSION" date p flags="-s -w"
  # Build date = the tag's time from the proxy's .info file (reproducible). The proxy gives no commit
  # hash, so gitCommit is set empty (otherwise it prints the placeholder "$Format:%H$").
  date="$(sed -nE 's/.*"Time":"([^"]+)".*/\1/p' "$(mod_field "$src/k8s.json" Info 2>/dev/null)" 2>/dev/null || true)"
  date="${date:-1970-01-01T00:00:00Z}"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $p.gitVersion=$v -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean -X $p.buildDate=$date -X $p.gitCommit="
  done
  printf '%s' "$flags"
}
k8s_flags() { build_flags "$(k8s_ldflags)" "k8s.io/kubernetes/cmd/$1" "$K8S_TAGS"; }

build_etcd() {
  local src="$CLUSTER_CACHE/src-etcd-$ETCD_VERSION" ldflags="-s -w"
  if fresh etcd "$ETCD_VERSION" "$(build_flags "$ldflags" go.etcd.io/etcd/server/v3)"; then progress "etcd $ETCD_VERSION: up to date"; return 0; fi
  if ! ready "$src"; then
    progress "etcd $ETCD_VERSION: preparing the build module in $src"
    new_module "$src" kit.invalid/etcd-build
    cd "$src"
    timed "go mod download go.etcd.io/etcd/server/v3@$ETCD_VERSION" go mod download -json "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >etcd.json
    match_go_directives "$(mod_field etcd.json GoMod)"
    timed "go get -tool etcd (resolve + download dependencies)" go get -tool "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
    done_ready "$src"
  fi
  [ "$PREPARE" = 0 ] || return 0
  cd "$src"
  go_build etcd "$ETCD_VERSION" "$ldflags" go.etcd.io/etcd/server/v3
}

build_coredns() {
  local src="$CLUSTER_CACHE/src-coredns-$COREDNS_VERSION" mod=github.com/coredns/coredns
  # Upstream's Makefile: tag grpcnotrace, -s -w, GitCommit; gitTag makes `-version` print the release.
  local ldflags="-s -w -X $mod/coremain.GitCommit=$COREDNS_VERSION -X $mod/coremain.gitTag=$COREDNS_VERSION"
  if fresh coredns "$COREDNS_VERSION" "$(build_flags "$ldflags" "$mod" grpcnotrace)"; then progress "coredns $COREDNS_VERSION: up to date"; return 0; fi
  if ! ready "$src"; then
    progress "coredns $COREDNS_VERSION: preparing the build module in $src"
    new_module "$src" kit.invalid/coredns-build
    cd "$src"
    timed "go mod download $mod@$COREDNS_VERSION" go mod download -json "$mod@$COREDNS_VERSION" >coredns.json
    # No replace directives upstream: only the go line (and godebug, if any) need copying.
    match_go_directives "$(mod_field coredns.json GoMod)"
    timed "go get -tool coredns (resolve + download dependencies)" go get -tool "$mod@$COREDNS_VERSION"
    done_ready "$src"
  fi
  [ "$PREPARE" = 0 ] || return 0
  cd "$src"
  go_build coredns "$COREDNS_VERSION" "$ldflags" "$mod" grpcnotrace
}

# build_module NAME MODULE VERSION PKG LDFLAGS: a tool whose go.mod needs no replaces, built
# inside its downloaded module as upstream's Makefile does (its own go.sum decides everything).
build_module() {
  local name="$1" mod="$2" version="$3" pkg="$4" ldflags="$5" dir
  if fresh "$name" "$version" "$(build_flags "$ldflags" "./$pkg")"; then progress "$name $version: up to date"; return 0; fi
  dir="$(go_module_dir "$mod@$version")"
  [ "$PREPARE" = 0 ] || { go_module_deps "$dir" "./$pkg"; return 0; }
  cd "$dir"
  go_build "$name" "$version" "$ldflags" "./$pkg"
}
build_kind() {
  build_module kind sigs.k8s.io/kind "$KIND_VERSION" . "-s -w -X sigs.k8s.io/kind/pkg/cmd/kind/version.gitCommit=$KIND_VERSION"
}
build_crictl() {
  build_module crictl sigs.k8s.io/cri-tools "$CRICTL_VERSION" cmd/crictl "-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=$CRICTL_VERSION"
}
build_local_path() {
  build_module local-path-provisioner github.com/rancher/local-path-provisioner "$LOCAL_PATH_VERSION" . "-s -w -X main.VERSION=$LOCAL_PATH_VERSION"
}

PREPARE=0
main() {
  [ "${1:-}" != --prepare ] || { PREPARE=1; shift; }
  local what=("$@") w
  [ ${#what[@]} -gt 0 ] || what=(kind k8s etcd coredns crictl local-path-provisioner)
  [ "$PREPARE" = 1 ] || progress "building into $BIN with $(go version | cut -d' ' -f3) ($(nproc) cores, nice -n 10)"
  for w in "${what[@]}"; do
    case "$w" in
      kind) build_kind ;;
      kubectl) build_k8s kubectl ;;
      k8s) build_k8s "${K8S_COMMANDS[@]}" ;;
      etcd) build_etcd ;;
      coredns) build_coredns ;;
      crictl) build_crictl ;;
      local-path-provisioner) build_local_path ;;
      *) die "unknown component '$w' (expected: kind kubectl k8s etcd coredns crictl local-path-provisioner)" ;;
    esac
  done
  echo "$BIN"
}
main "$@"; exit
