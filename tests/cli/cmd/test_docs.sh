# test_docs.sh - the documents stand on what the repository holds: the map
# (docs/architecture.md) names every source folder and every eBPF program,
# and no document points outside the repository (a relative link that
# leaves it, or a path into ../shared/, which is not part of it). Every
# relative link resolves to a file that exists.
. tests/lib.sh

map=docs/architecture.md
# names WHAT REGEX: the map mentions WHAT.
names() {
	if grep -qE -- "$2" "$map"; then ok "$map names $1"; else not_ok "$map names $1" "it does not mention $1"; fi
}
for d in src/*/; do
	names "${d%/}/" "(^|[^a-z])${d%/}/"
done
for p in bpf/*.bpf.c; do
	names "$p" "$(basename "$p" | sed 's/\./\\./g')"
done

docs=$(git ls-files '*.md' 2>/dev/null)
[ -n "$docs" ] || docs=$(ls ./*.md docs/*.md)
bad=$(grep -n '\.\./shared' $docs)
expect_eq "no document names ../shared/" "$bad" ""

# Relative Markdown links ](target): inside the repository, and present.
top=$(pwd -P)
bad=""
for f in $docs; do
	dir=$(dirname "$f")
	while IFS= read -r target; do
		case $target in http://* | https://* | mailto:* | \#*) continue ;; esac
		path=${target%%#*}
		[ -n "$path" ] || continue
		abs=$(realpath -m "$dir/$path")
		case $abs in
		"$top"/*) [ -e "$abs" ] || bad+="$f: $target (missing) " ;;
		*) bad+="$f: $target (outside the repository) " ;;
		esac
	done < <(grep -o '\](\([^)]*\))' "$f" | sed 's/^](\(.*\))$/\1/')
done
expect_eq "every relative link resolves inside the repository" "$bad" ""
done_testing
