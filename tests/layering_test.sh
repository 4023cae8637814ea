#!/usr/bin/env bash
# The layering rule, checked on the sources: every #include of a project header must point
# down the dependency arrow
#
#   launch -> {growth, merge} -> runtime          data: alone
#
# runtime includes only runtime/; growth only growth/ and runtime/; merge only merge/ and
# runtime/; data only data/; launch any of the five. tests/ is never included. A relative
# include ("../x.h", or "x.h" found next to the file) is resolved and must stay inside the
# includer's top-level folder: the compiler finds it without the layer's include
# directories, so the build could not catch a back-edge written that way. The build enforces the rule too (each library sees only the include directories
# of its own layer and those below: sprout_layer in the top-level CMakeLists.txt), but
# only for the files it compiles; this test also covers sources not built here (the CUDA
# and NCCL files, say). Standard, torch, MPI and HDF5 headers are not project headers.
#
# Usage: tests/layering_test.sh [SOURCE_ROOT]   (default: SPROUT_SOURCE_DIR or the checkout)
set -uo pipefail
root=${1:-${SPROUT_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}}
cd "$root" || { echo "layering: no source root '$root'"; exit 1; }

# allowed[FOLDER]: the top-level folders FOLDER's sources may include.
declare -A allowed=(
  [runtime]="runtime"
  [growth]="growth runtime"
  [merge]="merge runtime"
  [data]="data"
  [launch]="launch growth merge runtime data"
)
project_folders=" runtime growth merge data launch tests "

violations=0
checked=0
while IFS= read -r -d '' file; do
  folder=${file%%/*}
  dir=$(dirname "$file")
  while IFS= read -r hit; do
    line=${hit%%:*}
    [[ ${hit#*:} =~ include[[:space:]]*([\"<])([^\">]+) ]] || continue
    target=${BASH_REMATCH[2]}
    quoted=0
    [[ ${BASH_REMATCH[1]} == '"' ]] && quoted=1
    resolved=""
    relative=0
    if ((quoted)) && [[ $target == ../* || $target == ./* || ( $target != */* && -e $dir/$target ) ]]; then
      # Relative to the including file: normalise to a path from the root.
      resolved=$(realpath -m --relative-to=. "$dir/$target")
      relative=1
    elif [[ $project_folders == *" ${target%%/*} "* && $target == */* ]]; then
      resolved=$target
    else
      continue  # not a project header
    fi
    checked=$((checked + 1))
    to=${resolved%%/*}
    if [[ $resolved == ../* || $project_folders != *" $to "* ]]; then
      echo "layering: $file:$line includes \"$target\", which leaves the source tree's layers"
      violations=$((violations + 1))
    elif ((relative)) && [[ $to != "$folder" ]]; then
      # The compiler finds such a file next to the includer, past the layer's include
      # directories, so the build would not catch it.
      echo "layering: $file:$line includes \"$target\", a relative path out of $folder/" \
           "(write project includes from the top of the tree: \"$resolved\")"
      violations=$((violations + 1))
    elif [[ " ${allowed[$folder]} " != *" $to "* ]]; then
      echo "layering: $file:$line includes \"$target\": $folder/ may include only {${allowed[$folder]// /, }}/" \
           "(launch -> {growth, merge} -> runtime; data alone)"
      violations=$((violations + 1))
    fi
  done < <(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*["<]' "$file")
done < <(find runtime growth merge data launch -type f \
           \( -name '*.h' -o -name '*.hpp' -o -name '*.cpp' -o -name '*.cc' -o -name '*.cu' -o -name '*.cuh' \) -print0)

if ((checked == 0)); then
  echo "layering: no project includes found under $root (wrong source root?)"
  exit 1
fi
if ((violations)); then
  echo "layering: $violations include(s) run against the layers"
  exit 1
fi
echo "layering: $checked project includes checked, all follow launch -> {growth, merge} -> runtime, data alone"
