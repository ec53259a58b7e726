# timeline.gp: the load over time: each vCPU's migrations and stalls, and whole-VM pauses.
#
# Made by `bin/sim report` from the template reports/timeline.gp. The data file @DATA@ holds the
# timeline rows as they are in the results database, "t_ns length_ns vcpu from_cpu to_cpu", in
# three data sets: index 0 the migrations (length: the off-CPU gap before landing), index 1 the
# stalls, index 2 the pauses (vcpu NaN: the whole VM). An empty set is one line of NaN.
# Stalls and pauses are bars as long as they lasted (at least a hairline), in the lower part
# of each vCPU's row; migrations are points in the upper part.
# Draw again with `gnuplot @NAME@.gp`: it writes @NAME@.png and @NAME@.svg beside itself.

# Work in the script's own directory, wherever gnuplot was started.
if (exists("ARG0") && strlen(ARG0) > 0) {
    slash = 0
    k = 1
    while (k <= strlen(ARG0)) {
        if (ARG0[k:k] eq "/") { slash = k }
        k = k + 1
    }
    if (slash > 0) { cd ARG0[1:slash] }
}

nvcpus = @NVCPUS@

set title '@RUN@: migrations and stalls per vCPU, arm @ARM@' . "\n" . '@NOTE@'
set xlabel 'true time (s)'
set ylabel 'vCPU'
set xrange [0:@XMAX@]
set yrange [-1.5:nvcpus - 0.5]
set ytics 1
set ytics add ('VM' -1)
set grid xtics
set key outside right top

do for [fmt in 'png svg'] {
    if (fmt eq 'png') {
        # pngcairo (gnuplot-nox has it); the plain png terminal where a build lacks cairo.
        if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {
            set terminal pngcairo size 1000,600 noenhanced font ',10'
        } else {
            set terminal png size 1000,600 noenhanced
        }
    } else {
        set terminal svg size 1000,600 dynamic noenhanced font ',10'
    }
    set output '@NAME@.' . fmt
    plot '@DATA@' index 1 using ($1 / 1e9):3:($1 / 1e9):(($1 + $2) / 1e9):($3 - 0.4):($3 + 0.05) \
             with boxxyerror fc rgb '#d62728' fs solid 0.5 border lc rgb '#d62728' title 'stall', \
         '' index 2 using ($1 / 1e9):(-1):($1 / 1e9):(($1 + $2) / 1e9):(-1.3):(-0.7) \
             with boxxyerror fc rgb '#7f7f7f' fs solid 0.5 border lc rgb '#7f7f7f' title 'VM pause', \
         '' index 0 using ($1 / 1e9):($3 + 0.25) with points pt 7 ps 0.7 lc rgb '#1f77b4' \
             title 'migration (lands here)', \
         NaN notitle
}
unset output
