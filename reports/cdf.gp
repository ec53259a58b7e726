# cdf.gp: the distribution of the guest clock's error, one cumulative curve per arm.
#
# Made by `bin/sim report` from the template reports/cdf.gp. The data file @DATA@ holds one data
# set per arm (gnuplot's index 0, 1, ... in the order of the list `arms` below): the |error_ns|
# of every series row of that arm, sorted, each with the fraction of the arm's rows at or below
# it ("abs_error_ns fraction"). The x axis is logarithmic; errors below 1 ns are drawn at 1 ns.
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

arms = '@ARMS@'
nrows = @ROWS@

set title '@RUN@: distribution of |guest clock - true time| (CDF)'
set xlabel '|guest clock - true time| (ns, log scale)'
set ylabel 'fraction of samples at or below'
set logscale x 10
set format x '10^{%L}'
set xrange [0.5:*]
set yrange [0:1.02]
set grid
set key outside right top
if (nrows == 0) {
    set xrange [0.5:10]
    set label 1 'no samples recorded' at graph 0.5, 0.5 center
}

do for [fmt in 'png svg'] {
    if (fmt eq 'png') {
        # pngcairo (gnuplot-nox has it); the plain png terminal where a build lacks cairo.
        if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {
            set terminal pngcairo size 1000,600 enhanced font ',10'
        } else {
            set terminal png size 1000,600 enhanced
        }
    } else {
        set terminal svg size 1000,600 dynamic enhanced font ',10'
    }
    set output '@NAME@.' . fmt
    plot for [k = 1:words(arms)] '@DATA@' index (k - 1) using ($1 < 1 ? 1 : $1):2 \
             with steps lw 2 title word(arms, k) noenhanced, \
         NaN notitle
}
unset output
