# test_main.sh - the herd binary's own dispatch: --help, --version, help X, bad commands.
. tests/lib.sh

out=$($HERD --help); rc=$?
expect_eq "herd --help exits 0" "$rc" 0
expect_match "herd --help lists the subcommands" "$out" "serve.*" 
for c in serve bench hist lab; do expect_match "--help names $c" "$out" "^  $c "; done
out=$($HERD --version); expect_match "herd --version prints a version" "$out" '^herd [0-9]+\.[0-9]+'
$HERD nosuch 2>"$TMP/err"; rc=$?
expect_eq "unknown command exits 2" "$rc" 2
expect_match "unknown command is named" "$(cat "$TMP/err")" "no such command: 'nosuch'"
$HERD 2>/dev/null; expect_eq "no command exits 2" "$?" 2
$HERD help nosuch 2>/dev/null; expect_eq "help of unknown command exits 2" "$?" 2
done_testing
