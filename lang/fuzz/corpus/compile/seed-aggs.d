#pragma D option quiet
#pragma D option aggsortrev
BEGIN { @c[probename, 1] = count(); @s = sum(-3); @q = quantize(7); @l = lquantize(3, 0, 10, 2); @ll = llquantize(100, 10, 0, 6, 20); @a = avg(2); @d = stddev(5); }
BEGIN { printa("%s %d %@d\n", @c); trunc(@s, 1); clear(@q); normalize(@a, 2); denormalize(@a); printa(@l); exit(0); }
END { printf("%Y %s %x %p %c %S\n", walltimestamp, "a\tb", 255, 16, 65, "q\n"); }
