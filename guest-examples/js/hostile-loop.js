// Computes forever: the CPU-time limit stops it.
export function handle() {
  let n = 0;
  for (;;) n = (n + 1) | 0;
}
