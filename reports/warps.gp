# warps.gp: warps, stalls and backsteps of each arm, as clustered bars.
#
# Made by `bin/sim report` from the template reports/warps.gp. The data file @DATA@ has one
# row per arm, "arm warps stalls backsteps", the arm's metrics as they are in the results
# database (NaN where a metric is missing; `cols` below lists the columns that have a value in
# some arm). A warp is a serialized read (under a lock, or by a task hopping vCPUs) smaller than
# the one before it; a stall is one equal to it; a backstep is a read smaller than the same
# vCPU's previous read. Each bar is labelled with its count.
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

cols = '@COLS@'
names = 'arm warps stalls backsteps'
n = words(cols)

set title '@RUN@: warps, stalls and backsteps per arm'
set ylabel 'count over the run'
set yrange [0:@YMAX@]
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set offsets 0, 0, graph 0.08, 0
set grid ytics
set key outside right top
if (n == 0) {
    set xrange [-1:1]
    set label 1 'no warps, stalls or backsteps metrics recorded' at graph 0.5, 0.5 center
}

# Bar k of n in a cluster centred on the arm's x ($0) is offset by (k - 1 - (n - 1) / 2) / (n + 1).
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
    plot for [k = 1:n] '@DATA@' using int(word(cols, k)):xtic(1) \
             title word(names, int(word(cols, k))), \
         for [k = 1:n] '@DATA@' \
             using ($0 + (k - 1 - (n - 1) / 2.0) / (n + 1)):int(word(cols, k)): \
                   (sprintf('%.0f', column(int(word(cols, k))))) \
             with labels offset 0,0.7 notitle, \
         NaN notitle
}
unset output
