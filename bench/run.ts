/** `npm run bench`: the pipeline benchmark, the cost of a request before trust, the same code in Node and in workerd, then the end-to-end load benchmarks, as Markdown. */
import { loadBenchmark } from "./load.js";
import { pipelineBenchmark, worstShapesBenchmark } from "./pipeline.js";
import { runtimesBenchmark } from "./runtimes.js";
import { traceRoutesBenchmark } from "./trace-routes.js";
import { untrustedBenchmark } from "./untrusted.js";

console.log(`# Benchmarks (${new Date().toISOString().slice(0, 10)}, Node ${process.version})\n`);
console.log("## Pipeline: CPU per MiB, same process, modes interleaved, medians\n");
console.log(await pipelineBenchmark());
console.log("\n## The worst requests at the default limits: CPU per MiB, and memory under an isolate's heap\n");
console.log(await worstShapesBenchmark());
console.log("\n## Work before trust: the CPU of one hostile request with a key Braintrust has not accepted\n");
console.log(await untrustedBenchmark());
console.log("\n## The same code in Node and in workerd: µs per run, medians\n");
console.log(await runtimesBenchmark());
console.log("\n## End to end under wrangler dev\n");
console.log(await loadBenchmark());
console.log("\n## Routing by trace: a routing tenant beside one that does not route, under wrangler dev\n");
console.log(await traceRoutesBenchmark());
