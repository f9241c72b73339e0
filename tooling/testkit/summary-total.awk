# ./kit test's last lines: the sum of the counts its jest runs wrote to KIT_SUMMARY_FILE
# (summary-reporter.js: a "failed: ..." line per failed test, then "passed failed skipped").
#   awk -v rc=EXIT_CODE -v selection="ARGS" -f summary-total.awk SUMMARY_FILE
# The failed tests come last but one, so a CI log cut to its tail names them. Exits 1 when no
# test ran at all (a selection that matches nothing proves nothing); a jest run that failed
# without reporting a failed test (it crashed) counts as one failed.
/^failed: / { failures = failures "\n" $0; next }
{ p += $1; f += $2; s += $3 }
END {
  if (rc != 0 && f == 0) { print "a jest run failed (exit " rc ") without reporting a failed test: counted as 1 failed"; f = 1 }
  if (failures != "") printf "%s\n", failures
  printf "\ntests: %d passed, %d failed, %d skipped\n", p, f, s
  if (p + f + s == 0) { print "no test matched " (selection == "" ? "the whole suite" : selection) ": nothing was proven"; exit 1 }
}
