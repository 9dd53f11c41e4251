# golden/stats.awk -- split mailtap's stderr into its stats block and the rest.
#
# awk -v mode=stats: the stats block ("mailtap: read N packets ..." and the
# indented lines after it) as one "name value" line per counter, named by
# section, by the counter a parenthesis belongs to and by the label before a
# colon: "flows: ... active 0 (max 1)" gives flows.active 0, flows.active.max 1.
# Any other mode: every line that is not part of the stats block, unchanged.
function piece(p,   n, i, t, k, v, nv) {
	gsub(/^ +| +$/, "", p)
	if (p == "") return
	if (p ~ /^[a-z ]+:/) { sub(/:.*/, "", p) }
	n = split(p, t, / +/); k = ""; v = ""; nv = 0
	for (i = 1; i <= n; i++) {
		if (t[i] ~ /^[0-9]+$/) { v = t[i]; nv++ }
		else k = k (k == "" ? "" : "_") t[i]
	}
	if (nv != 1) return
	last = k
	if (mode == "stats") print (pre != "" ? pre "." : "") (lab != "" ? lab "." : "") k, v
}
/^mailtap: read [0-9]+ packets/ { instats = 1; sec = "read"; line = substr($0, 15)
	if (match(line, /\([a-z-]+\)$/)) { if (mode == "stats") print "read.source", substr(line, RSTART + 1, RLENGTH - 2); line = substr(line, 1, RSTART - 1) } }
instats && /^  / { line = $0 }
instats && (/^  / || /^mailtap: read [0-9]+ packets/) {
	if (line ~ /^  [a-z]+:/) { sec = line; sub(/^ +/, "", sec); sub(/:.*/, "", sec); sub(/^ +[a-z]+: */, "", line) }
	gsub(/ and /, ",", line); gsub(/\(/, ",(,", line); gsub(/\)/, ",),", line)
	gsub(/;/, ",", line)
	n = split(line, ps, /,/); stack = 0; pre = sec; last = ""; lab = ""
	for (j = 1; j <= n; j++) {
		p = ps[j]; gsub(/^ +| +$/, "", p)
		if (p == "(") { st[++stack] = pre; pre = pre "." last; continue }
		if (p == ")") { pre = st[stack--]; continue }
		if (p ~ /^[a-z ]+: /) { q = p; sub(/:.*/, "", q); gsub(/ /, "_", q); sub(/^[a-z ]+: /, "", p); lab = q }
		piece(p)
	}
	next
}
{ instats = 0; if (mode != "stats") print }
