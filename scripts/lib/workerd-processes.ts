import { readdirSync, readFileSync } from "node:fs";

/** Linux's /proc: the benchmark's and the load test's view of the workerd processes wrangler runs. */
interface WorkerdProcess {
  pid: string;
  parent: number;
  processGroup: number;
  /** User plus system CPU, in clock ticks (1/100 s). */
  cpuTicks: number;
}

function workerdProcesses(): WorkerdProcess[] {
  const found: WorkerdProcess[] = [];
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      if (!stat.includes("(workerd)")) continue;
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      found.push({ pid, parent: Number(fields[1]), processGroup: Number(fields[2]), cpuTicks: Number(fields[11]) + Number(fields[12]) });
    } catch {
      // The process ended between listing and reading.
    }
  }
  return found;
}

/** Resident memory (bytes) of the workerd processes in a process group: the relay under wrangler dev. */
export function workerdRss(processGroup: number): number {
  let total = 0;
  for (const { pid } of workerdProcesses().filter((p) => p.processGroup === processGroup)) {
    try {
      total += Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) * 1024;
    } catch {
      // The process ended between listing and reading.
    }
  }
  return total;
}

/** CPU milliseconds used so far by the workerd processes this process started (wrangler's API runs them as children). */
export function childWorkerdCpuMs(): number {
  return workerdProcesses()
    .filter((p) => p.parent === process.pid)
    .reduce((sum, p) => sum + p.cpuTicks * 10, 0);
}
