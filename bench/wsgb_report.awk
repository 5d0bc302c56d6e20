# Report of a bench/run.sh run, in Markdown, from its results.txt: medians
# with [min-max] over the repetitions, ratios between targets, idle memory
# per tunnel, the issue's targets for mod_ws_gateway, and every failure.
# Usage: awk -v machine=FILE -f wsgb_report.awk results.txt
# Plain POSIX awk (Debian's mawk).

function wsgb_add(key, v) {
    n_val[key]++
    val[key, n_val[key]] = v
}

# Median of the values under key (sorted copy), "" when none.
function wsgb_median(key,   n, i, j, t, a) {
    n = n_val[key] + 0
    if (n == 0) return ""
    for (i = 1; i <= n; i++) a[i] = val[key, i] + 0
    for (i = 2; i <= n; i++) {
        t = a[i]
        for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]
        a[j + 1] = t
    }
    s_min = a[1]; s_max = a[n]
    if (n % 2) return a[(n + 1) / 2]
    return (a[n / 2] + a[n / 2 + 1]) / 2
}

# "median [min-max]" formatted with fmt; "-" when there is none.
function wsgb_cell(key, fmt,   m) {
    m = wsgb_median(key)
    if (m == "") return "-"
    if (n_val[key] == 1 || s_min == s_max) return sprintf(fmt, m)
    return sprintf(fmt " [" fmt "-" fmt "]", m, s_min, s_max)
}

function wsgb_ratio(a, b) {
    if (a == "" || b == "" || b + 0 == 0) return ""
    return a / b
}

function wsgb_rcell(r) {
    return r == "" ? "-" : sprintf("%.2fx", r)
}

# The ratio of target t's median of key to ref's, as a cell.
function wsgb_rel(t, key, ref) {
    return wsgb_rcell(wsgb_ratio(wsgb_median(t SUBSEP key), wsgb_median(ref SUBSEP key)))
}

function wsgb_check(label, t, r, want, higher,   ok) {
    if (r == "") {
        printf "| %s | %s | - | no data: **MISS** |\n", label, t
        misses++
        return
    }
    ok = higher ? r >= want : r <= want
    printf "| %s | %s | %.2fx | %s |\n", label, t, r, ok ? "meets" : "**MISS**"
    if (!ok) misses++
}

{
    delete f
    for (i = 1; i <= NF; i++) {
        p = index($i, "=")
        if (p) f[substr($i, 1, p - 1)] = substr($i, p + 1)
    }
    t = f["target"]; test = f["test"]
    if (!(t in seen)) { seen[t] = 1; order[++ntargets] = t }
    if (test == "minimal") {
        wsgb_add(t SUBSEP "min_pss", f["pss_kb"]); wsgb_add(t SUBSEP "min_rss", f["rss_kb"])
        wsgb_add(t SUBSEP "min_thr", f["threads"]); wsgb_add(t SUBSEP "min_vsz", f["vsz_kb"])
        next
    }
    if (test == "logs") {
        logprob[t] += f["problems"]; crashes[t] += f["crashes"]
        stopprob[t] += f["stop_problems"]; stopcrash[t] += f["stop_crashes"]
        next
    }
    if (!((t, test) in tseen)) { tseen[t, test] = 1 }
    if (test ~ /^idled/) {
        idled_n = substr(test, 6) + 0
        if (!(t in idled_seen)) { idled_seen[t] = 1; idled_order[++nidled] = t }
    }
    if ("failed" in f) {
        failures[t] = failures[t] sprintf(" %s(rep %s): %s;", test, f["rep"], f["failed"])
        next
    }
    errs[t, test] += f["errors"]
    for (k in f) if (k ~ /^e_/ && f[k] > 0) errkind[t] = errkind[t] " " test ":" substr(k, 3) "=" f[k]
    if (f["close_timeouts"] > 0) errkind[t] = errkind[t] " " test ":close_timeouts=" f["close_timeouts"]
    if (f["aborted"] == 1) failures[t] = failures[t] sprintf(" %s(rep %s): aborted;", test, f["rep"])
    if (test == "echo") {
        wsgb_add(t SUBSEP "echo_rate", f["rate"])
        wsgb_add(t SUBSEP "echo_p50", f["p50_us"])
        wsgb_add(t SUBSEP "echo_p99", f["p99_us"])
        wsgb_add(t SUBSEP "echo_max", f["max_us"])
        if (("cpu_s" in f) && f["cpu_s"] >= 0 && f["msgs"] > 0) {
            wsgb_add(t SUBSEP "cpu100k", f["cpu_s"] / f["msgs"] * 100000)
            wsgb_add(t SUBSEP "echo_busy", f["cpu_util"] * 100)
        }
        if (f["pcpu_others"] >= 0) wsgb_add(t SUBSEP "p_others", f["pcpu_others"] * 100)
        if (f["lcpu_busy"] >= 0) wsgb_add(t SUBSEP "l_busy", f["lcpu_busy"] * 100)
        if (f["lcpu_others"] >= 0) wsgb_add(t SUBSEP "l_others", f["lcpu_others"] * 100)
    }
    if (test == "echo" || test == "bulk" || test == "connrate") {
        if (f["pcpu_others"] >= 0) wsgb_add("all" SUBSEP "p_others", f["pcpu_others"] * 100)
        if (f["lcpu_others"] >= 0) wsgb_add("all" SUBSEP "l_others", f["lcpu_others"] * 100)
    }
    if (test == "bulk") {
        wsgb_add(t SUBSEP "bulk", f["mbps"])
        if (("cpu_util" in f) && f["cpu_util"] >= 0) wsgb_add(t SUBSEP "bulk_busy", f["cpu_util"] * 100)
    }
    else if (test == "connrate") {
        wsgb_add(t SUBSEP "conn_rate", f["rate"])
        wsgb_add(t SUBSEP "conn_p99", f["p99_us"])
        if (("cpu_util" in f) && f["cpu_util"] >= 0) wsgb_add(t SUBSEP "conn_busy", f["cpu_util"] * 100)
    }
    else if (test == "echo1k") {
        wsgb_add(t SUBSEP "e1k_rate", f["rate"])
        wsgb_add(t SUBSEP "e1k_p50", f["p50_us"])
        wsgb_add(t SUBSEP "e1k_p99", f["p99_us"])
        if (("cpu_s" in f) && f["cpu_s"] >= 0 && f["msgs"] > 0)
            wsgb_add(t SUBSEP "e1k_cpu100k", f["cpu_s"] / f["msgs"] * 100000)
    }
    else if (test ~ /^idled/) {
        est = f["established"] + 0
        if (est > 0)
            wsgb_add(t SUBSEP "idled_rss", (f["held_rss_kb"] - f["base_rss_kb"]) / est)
        wsgb_add(t SUBSEP "idled_est", est)
        wsgb_add(t SUBSEP "idled_ver", f["verified"])
        wsgb_add(t SUBSEP "idled_threads", f["held_threads"])
        wsgb_add(t SUBSEP "idled_procs", f["held_procs"])
        wsgb_add(t SUBSEP "idled_ramp", f["ramp_s"])
    }
    else if (test ~ /^idle/) {
        n = substr(test, 5) + 0
        if (!(n in idle_seen)) { idle_seen[n] = 1; idle_sizes[++nidle] = n }
        est = f["established"] + 0
        if (est > 0) {
            wsgb_add(t SUBSEP test SUBSEP "rss", (f["held_rss_kb"] - f["base_rss_kb"]) / est)
            wsgb_add(t SUBSEP test SUBSEP "pss", (f["held_pss_kb"] - f["base_pss_kb"]) / est)
        }
        wsgb_add(t SUBSEP test SUBSEP "thr", f["held_threads"] - f["base_threads"])
        wsgb_add(t SUBSEP test SUBSEP "threads", f["held_threads"])
        wsgb_add(t SUBSEP test SUBSEP "procs", f["held_procs"])
        wsgb_add(t SUBSEP test SUBSEP "held_rss", f["held_rss_kb"] / 1024)
        wsgb_add(t SUBSEP test SUBSEP "held_pss", f["held_pss_kb"] / 1024)
        wsgb_add(t SUBSEP test SUBSEP "base_pss", f["base_pss_kb"])
        wsgb_add(t SUBSEP test SUBSEP "base_rss", f["base_rss_kb"])
        wsgb_add(t SUBSEP test SUBSEP "base_thr", f["base_threads"])
        wsgb_add(t SUBSEP test SUBSEP "base_vsz", f["base_vsz_kb"])
        wsgb_add(t SUBSEP test SUBSEP "est", est)
        wsgb_add(t SUBSEP test SUBSEP "ver", f["verified"])
        wsgb_add(t SUBSEP test SUBSEP "ramp", f["ramp_s"])
    }
}

END {
    print "# mod_ws_gateway benchmark report"
    print ""
    while ((getline line < machine) > 0) print "- " line
    print ""
    print "Cells are median [min-max] over the repetitions. Proxy CPU is the"
    print "user+system time of the proxy's whole process tree during the measured"
    print "window (from /proc), divided by the messages echoed in that window;"
    print "\"busy\" is that time over the window length (100 % = the proxy's CPU is"
    print "saturated). Bulk MB/s is echoed payload received per second (10^6"
    print "bytes), with the same amount flowing the other way at the same time."
    print ""
    print "## Throughput, latency, CPU"
    print ""
    print "| target | echo msgs/s | echo p50 us | echo p99 us | echo max us | proxy CPU s / 100k msgs | proxy busy (echo) | bulk MB/s | proxy busy (bulk) | conn/s | conn cycle p99 us |"
    print "|---|---|---|---|---|---|---|---|---|---|---|"
    for (i = 1; i <= ntargets; i++) {
        t = order[i]
        printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", t,
            wsgb_cell(t SUBSEP "echo_rate", "%.0f"), wsgb_cell(t SUBSEP "echo_p50", "%.0f"),
            wsgb_cell(t SUBSEP "echo_p99", "%.0f"), wsgb_cell(t SUBSEP "echo_max", "%.0f"),
            wsgb_cell(t SUBSEP "cpu100k", "%.2f"), wsgb_cell(t SUBSEP "echo_busy", "%.0f%%"),
            wsgb_cell(t SUBSEP "bulk", "%.0f"), wsgb_cell(t SUBSEP "bulk_busy", "%.0f%%"),
            wsgb_cell(t SUBSEP "conn_rate", "%.0f"), wsgb_cell(t SUBSEP "conn_p99", "%.0f")
    }
    print ""
    print "Interference: other processes (not the proxy, not the load generator, not"
    print "the echo backend) used a median " wsgb_cell("all" SUBSEP "p_others", "%.0f%%") " of the proxy's CPU and"
    print wsgb_cell("all" SUBSEP "l_others", "%.0f%%") " of the load CPU over all measured windows."
    print "Per target during echo (proxy CPU taken by others / load CPU busy in total):"
    print ""
    print "| target | others on proxy CPU (echo) | load CPU busy (echo) |"
    print "|---|---|---|"
    for (i = 1; i <= ntargets; i++) {
        t = order[i]
        printf "| %s | %s | %s |\n", t, wsgb_cell(t SUBSEP "p_others", "%.0f%%"), wsgb_cell(t SUBSEP "l_busy", "%.0f%%")
    }
    print ""
    print "## Ratios (medians of this run)"
    print ""
    print "| target | echo vs wstunnel | echo vs nginx | echo vs haproxy | bulk vs wstunnel | bulk vs haproxy | bulk vs nginx | conn/s vs wstunnel | conn/s vs haproxy | CPU/msg vs wstunnel | CPU/msg vs nginx |"
    print "|---|---|---|---|---|---|---|---|---|---|---|"
    for (i = 1; i <= ntargets; i++) {
        t = order[i]
        e = wsgb_median(t SUBSEP "echo_rate"); b = wsgb_median(t SUBSEP "bulk")
        c = wsgb_median(t SUBSEP "conn_rate"); u = wsgb_median(t SUBSEP "cpu100k")
        printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", t,
            wsgb_rcell(wsgb_ratio(e, wsgb_median("wstunnel" SUBSEP "echo_rate"))),
            wsgb_rcell(wsgb_ratio(e, wsgb_median("nginx" SUBSEP "echo_rate"))),
            wsgb_rcell(wsgb_ratio(e, wsgb_median("haproxy" SUBSEP "echo_rate"))),
            wsgb_rcell(wsgb_ratio(b, wsgb_median("wstunnel" SUBSEP "bulk"))),
            wsgb_rcell(wsgb_ratio(b, wsgb_median("haproxy" SUBSEP "bulk"))),
            wsgb_rcell(wsgb_ratio(b, wsgb_median("nginx" SUBSEP "bulk"))),
            wsgb_rcell(wsgb_ratio(c, wsgb_median("wstunnel" SUBSEP "conn_rate"))),
            wsgb_rcell(wsgb_ratio(c, wsgb_median("haproxy" SUBSEP "conn_rate"))),
            wsgb_rcell(wsgb_ratio(u, wsgb_median("wstunnel" SUBSEP "cpu100k"))),
            wsgb_rcell(wsgb_ratio(u, wsgb_median("nginx" SUBSEP "cpu100k")))
    }
    if (nidle) {
        print ""
        print "## Memory per idle tunnel"
        print ""
        print "Whole process tree of the proxy, N tunnels held. httpd starts with the"
        print "worker pool the test needs (ceil(N/" "128" ") + 1 children), so \"tunnel\" is"
        print "(memory while held - the same server idle) / N: the tunnel's own state."
        print "\"worker thread\" is what one idle pool thread costs: (idle pool - the"
        print "1-child server) / extra threads, child processes included; httpd needs one"
        print "per tunnel, so \"incl. thread\" = tunnel + worker thread. PSS splits shared"
        print "pages between processes; RSS counts them in every process (the issue's"
        print "\"RSS delta / tunnels\"). VSZ per thread is the stack reservation."
        print ""
        print "| target | tunnels | established / verified | RSS delta per tunnel KiB | PSS delta per tunnel KiB | worker thread PSS KiB | PSS per tunnel incl. thread KiB | VSZ per thread KiB | threads | processes | proxy PSS held MiB | ramp s |"
        print "|---|---|---|---|---|---|---|---|---|---|---|---|"
        for (i = 1; i <= ntargets; i++) {
            t = order[i]
            for (j = 1; j <= nidle; j++) {
                key = t SUBSEP "idle" idle_sizes[j]
                if (n_val[key SUBSEP "est"] == 0) {
                    if ((t, "idle" idle_sizes[j]) in tseen)
                        printf "| %s | %d | failed | - | - | - | - | - | - | - | - | - |\n", t, idle_sizes[j]
                    continue
                }
                per = ""; vper = ""
                bt = wsgb_median(key SUBSEP "base_thr"); mt = wsgb_median(t SUBSEP "min_thr")
                if (bt != "" && mt != "" && bt - mt > 64) {
                    per = (wsgb_median(key SUBSEP "base_pss") - wsgb_median(t SUBSEP "min_pss")) / (bt - mt)
                    vper = (wsgb_median(key SUBSEP "base_vsz") - wsgb_median(t SUBSEP "min_vsz")) / (bt - mt)
                }
                pt = wsgb_median(key SUBSEP "pss")
                printf "| %s | %d | %s / %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", t, idle_sizes[j],
                    wsgb_cell(key SUBSEP "est", "%d"), wsgb_cell(key SUBSEP "ver", "%d"),
                    wsgb_cell(key SUBSEP "rss", "%.1f"), wsgb_cell(key SUBSEP "pss", "%.1f"),
                    per == "" ? "-" : sprintf("%.1f", per),
                    per == "" ? sprintf("%.1f", pt) : sprintf("%.1f", pt + per),
                    vper == "" ? "-" : sprintf("%.0f", vper),
                    wsgb_cell(key SUBSEP "threads", "%d"), wsgb_cell(key SUBSEP "procs", "%d"),
                    wsgb_cell(key SUBSEP "held_pss", "%.0f"), wsgb_cell(key SUBSEP "ramp", "%.1f")
            }
        }
    }
    print ""
    print "## Echo with 1000 connections"
    print ""
    print "| target | msgs/s | p50 us | p99 us | proxy CPU s / 100k msgs | msgs/s vs nginx | p99 vs nginx | msgs/s vs wstunnel |"
    print "|---|---|---|---|---|---|---|---|"
    for (i = 1; i <= ntargets; i++) {
        t = order[i]
        if (n_val[t SUBSEP "e1k_rate"] == 0) continue
        printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", t,
            wsgb_cell(t SUBSEP "e1k_rate", "%.0f"), wsgb_cell(t SUBSEP "e1k_p50", "%.0f"),
            wsgb_cell(t SUBSEP "e1k_p99", "%.0f"), wsgb_cell(t SUBSEP "e1k_cpu100k", "%.2f"),
            wsgb_rcell(wsgb_ratio(wsgb_median(t SUBSEP "e1k_rate"), wsgb_median("nginx" SUBSEP "e1k_rate"))),
            wsgb_rcell(wsgb_ratio(wsgb_median(t SUBSEP "e1k_p99"), wsgb_median("nginx" SUBSEP "e1k_p99"))),
            wsgb_rcell(wsgb_ratio(wsgb_median(t SUBSEP "e1k_rate"), wsgb_median("wstunnel" SUBSEP "e1k_rate")))
    }
    if (nidled) {
        print ""
        print "## Idle tunnels under Debian's default MPM settings"
        print ""
        print "httpd as Debian ships mpm_event.conf (StartServers 2, ThreadsPerChild 25,"
        print "MaxRequestWorkers 150, MinSpareThreads 25, MaxSpareThreads 75), nothing"
        print "else tuned; " idled_n " tunnels opened (128 handshakes in flight), held, then"
        print "each verified with an echo. RSS per tunnel: (proxy tree RSS while held -"
        print "the same server before) / established."
        print ""
        print "| target | tunnels | established / verified | RSS per tunnel KiB | threads | processes | ramp s |"
        print "|---|---|---|---|---|---|---|"
        for (i = 1; i <= nidled; i++) {
            t = idled_order[i]
            if (n_val[t SUBSEP "idled_est"] == 0) {
                printf "| %s | %d | failed: the ramp did not finish (see Failures) | - | - | - | - |\n", t, idled_n
                continue
            }
            printf "| %s | %d | %s / %s | %s | %s | %s | %s |\n", t, idled_n,
                wsgb_cell(t SUBSEP "idled_est", "%d"), wsgb_cell(t SUBSEP "idled_ver", "%d"),
                wsgb_cell(t SUBSEP "idled_rss", "%.1f"), wsgb_cell(t SUBSEP "idled_threads", "%d"),
                wsgb_cell(t SUBSEP "idled_procs", "%d"), wsgb_cell(t SUBSEP "idled_ramp", "%.1f")
        }
    }
    print ""
    print "## Targets for mod_ws_gateway (issue), ratios of medians in this run"
    print ""
    print "| target | mode | ratio | verdict |"
    print "|---|---|---|---|"
    split("wsgw-tunnel wsgw-frames", w, " ")
    for (i = 1; i <= 2; i++) {
        t = w[i]
        if (!(t in seen)) continue
        wsgb_check("echo msgs/s >= 1.5x wstunnel", t,
            wsgb_ratio(wsgb_median(t SUBSEP "echo_rate"), wsgb_median("wstunnel" SUBSEP "echo_rate")), 1.5, 1)
        wsgb_check("bulk MB/s >= 1.0x haproxy", t,
            wsgb_ratio(wsgb_median(t SUBSEP "bulk"), wsgb_median("haproxy" SUBSEP "bulk")), 1.0, 1)
        wsgb_check("conn/s >= 1.5x wstunnel", t,
            wsgb_ratio(wsgb_median(t SUBSEP "conn_rate"), wsgb_median("wstunnel" SUBSEP "conn_rate")), 1.5, 1)
        wsgb_check("proxy CPU per msg <= 0.5x wstunnel", t,
            wsgb_ratio(wsgb_median(t SUBSEP "cpu100k"), wsgb_median("wstunnel" SUBSEP "cpu100k")), 0.5, 0)
    }
    if (("wsgw-tunnel" in seen) && ("wsgw-frames" in seen)) {
        wsgb_check("frames at most 5 % behind tunnel: echo msgs/s", "wsgw-frames",
            wsgb_ratio(wsgb_median("wsgw-frames" SUBSEP "echo_rate"), wsgb_median("wsgw-tunnel" SUBSEP "echo_rate")), 0.95, 1)
        wsgb_check("frames at most 5 % behind tunnel: bulk MB/s", "wsgw-frames",
            wsgb_ratio(wsgb_median("wsgw-frames" SUBSEP "bulk"), wsgb_median("wsgw-tunnel" SUBSEP "bulk")), 0.95, 1)
        wsgb_check("frames at most 5 % behind tunnel: conn/s", "wsgw-frames",
            wsgb_ratio(wsgb_median("wsgw-frames" SUBSEP "conn_rate"), wsgb_median("wsgw-tunnel" SUBSEP "conn_rate")), 0.95, 1)
        wsgb_check("frames at most 5 % more CPU per msg than tunnel", "wsgw-frames",
            wsgb_ratio(wsgb_median("wsgw-frames" SUBSEP "cpu100k"), wsgb_median("wsgw-tunnel" SUBSEP "cpu100k")), 1.05, 0)
    }
    if ("wsgw-async" in seen) {
        t = "wsgw-async"
        wsgb_check("async: echo 100 conns msgs/s >= 1.0x nginx", t,
            wsgb_ratio(wsgb_median(t SUBSEP "echo_rate"), wsgb_median("nginx" SUBSEP "echo_rate")), 1.0, 1)
        wsgb_check("async: echo 100 conns p99 <= nginx", t,
            wsgb_ratio(wsgb_median(t SUBSEP "echo_p99"), wsgb_median("nginx" SUBSEP "echo_p99")), 1.0, 0)
        wsgb_check("async: echo 1000 conns msgs/s >= 1.0x nginx", t,
            wsgb_ratio(wsgb_median(t SUBSEP "e1k_rate"), wsgb_median("nginx" SUBSEP "e1k_rate")), 1.0, 1)
        wsgb_check("async: echo 1000 conns p99 <= nginx", t,
            wsgb_ratio(wsgb_median(t SUBSEP "e1k_p99"), wsgb_median("nginx" SUBSEP "e1k_p99")), 1.0, 0)
        wsgb_check("async: proxy CPU per msg <= nginx", t,
            wsgb_ratio(wsgb_median(t SUBSEP "cpu100k"), wsgb_median("nginx" SUBSEP "cpu100k")), 1.0, 0)
        if (t in idled_seen) {
            wsgb_check("async: default MPM settings, " idled_n " tunnels established (share)", t,
                wsgb_ratio(wsgb_median(t SUBSEP "idled_est"), idled_n), 1.0, 1)
            wsgb_check("async: default MPM settings, " idled_n " tunnels echo afterwards (share)", t,
                wsgb_ratio(wsgb_median(t SUBSEP "idled_ver"), idled_n), 1.0, 1)
            wsgb_check("async: RSS per idle tunnel <= 20 KiB (ratio to 20 KiB)", t,
                wsgb_ratio(wsgb_median(t SUBSEP "idled_rss"), 20), 1.0, 0)
        }
    }
    if (("relay-thread" in seen) || ("relay-epoll" in seen)) {
        print ""
        print "## Floors (bench/wsgb-relay, a bare TCP relay; not targets)"
        print ""
        print "What the same figures are for a relay that does nothing but move bytes:"
        print "relay-thread has the shape of the per-tunnel mode (a thread per"
        print "connection, sleeping in epoll_wait on its two sockets), relay-epoll the"
        print "shape of the async mode and of nginx (one thread, one edge-triggered"
        print "epoll set). A ratio a relay cannot reach is out of reach for any proxy"
        print "of that shape on this machine."
        print ""
        print "| floor | echo vs wstunnel | conn/s vs wstunnel | CPU/msg vs wstunnel | echo vs nginx | echo 1000 vs nginx | p99 vs nginx | p99 1000 vs nginx | CPU/msg vs nginx |"
        print "|---|---|---|---|---|---|---|---|---|"
        split("relay-thread relay-epoll", w, " ")
        for (i = 1; i <= 2; i++) {
            t = w[i]
            if (!(t in seen)) continue
            printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", t,
                wsgb_rel(t, "echo_rate", "wstunnel"), wsgb_rel(t, "conn_rate", "wstunnel"),
                wsgb_rel(t, "cpu100k", "wstunnel"), wsgb_rel(t, "echo_rate", "nginx"),
                wsgb_rel(t, "e1k_rate", "nginx"), wsgb_rel(t, "echo_p99", "nginx"),
                wsgb_rel(t, "e1k_p99", "nginx"), wsgb_rel(t, "cpu100k", "nginx")
        }
    }
    print ""
    print "## Failures and errors"
    print ""
    print "Crashes are proxy processes killed by a fatal signal (SIGSEGV, ...), from"
    print "the logs; \"at stop\" happened while the driver stopped the proxy after"
    print "the measurements. close_timeouts: connections whose Close handshake did"
    print "not finish within the bound after the measurement (not counted as errors)."
    print ""
    print "| target | failed runs | load generator errors (test:kind=count) | crashes during tests | log lines at warn+ during tests | crashes at stop | log lines at warn+ at stop |"
    print "|---|---|---|---|---|---|---|"
    for (i = 1; i <= ntargets; i++) {
        t = order[i]
        printf "| %s | %s | %s | %d | %d | %d | %d |\n", t, failures[t] == "" ? "none" : failures[t],
            errkind[t] == "" ? "none" : errkind[t], crashes[t], logprob[t], stopcrash[t], stopprob[t]
    }
}
