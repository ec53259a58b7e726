# sweep.gp: one metric of a sweep against the swept parameter, one line per arm.
#
# Made by `bin/sim report --sweep` from the template reports/sweep.gp. The data file @DATA@ holds
# one data set per line (gnuplot's index 0, 1, ... in the order of the array `titles` below):
# an arm, or an arm with one combination of the values of the other parameters that vary (a
# group); each arm's `ngroups` lines come one after the other and are drawn in the arm's colour,
# one dash pattern per group. A data set has one row per point of the sweep, in the order of the
# swept parameter: "x mean min max runs value rank". x is where the value sits on the axis (the
# number in its unit's base, ns for times; or its rank when the values are not all numbers of
# one kind), mean, min and max are the metric over the seeds of the point's complete runs (NaN
# when it has none), runs how many there were, value the parameter as written, which labels the
# axis, and rank its place among the parameter's values (0, 1, ...; every `stride`-th is
# labelled, so that many values do not overlap). Each point is the mean; its error bar spans min
# to max.
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

array titles[@NLINES@] = [@TITLES@]
ngroups = @NGROUPS@
stride = @STRIDE@
xlog = @XLOG@
# Line k's colour is its arm's, its dash pattern its group's (a function: `dt (` would start a
# dash pattern of its own).
colour(k) = (k - 1) / ngroups + 1
dash(k) = (k - 1) % ngroups + 1

set title '@RUN@: @METRIC@ against @PARAM@' . "\n" . 'mean over the seeds, bars from min to max'
set xlabel '@PARAM@'
set ylabel '@YLABEL@'
# Grid lines at the labelled values only (with a stride, the others would crowd the plot).
set grid ytics
if (stride == 1) { set grid xtics }
set key outside right top
# Ranks: half a step either side (XRANGE); numbers: autoscaled, a twentieth of the plot either
# side (the offsets, which only an autoscaled axis takes).
set xrange @XRANGE@
set offsets graph 0.05, graph 0.05, graph 0.05, graph 0.05
if (xlog) { set logscale x 10 }

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
    plot for [k = 1:|titles|] '@DATA@' index (k - 1) \
             using 1:2:3:4:xticlabels(int($7) % stride == 0 ? strcol(6) : '') \
             with yerrorlines lw 2 lc colour(k) dt dash(k) pt 7 ps 0.8 title titles[k], \
         NaN notitle
}
unset output
