# error.gp: the guest clock error against true time, one colour per arm.
#
# Made by `bin/sim report` from the template reports/error.gp. The data file @DATA@ holds one
# data set per arm (gnuplot's index 0, 1, ... in the order of the list `arms` below), each the
# series rows of that arm as they are in the results database: "t_ns vcpu guest_ns error_ns",
# one block per vCPU (a blank line between vCPUs, so that each vCPU is drawn as its own line).
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
ydiv = @YDIV@

set title '@RUN@: guest clock error against true time (every vCPU of each arm)'
set xlabel 'true time (s)'
set ylabel 'guest clock - true time (@YUNIT@)'
set xrange [0:@XMAX@]
set grid
set key outside right top
if (nrows == 0) {
    set yrange [-1:1]
    set label 1 'no samples recorded' at graph 0.5, 0.5 center
}

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
    plot for [k = 1:words(arms)] '@DATA@' index (k - 1) using ($1 / 1e9):($4 / ydiv) \
             with lines lw 1 title word(arms, k), \
         NaN notitle
}
unset output
