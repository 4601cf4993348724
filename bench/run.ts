/** `npm run bench`: the pipeline benchmark, then the end-to-end load benchmark, as Markdown. */
import { loadBenchmark } from "./load.js";
import { pipelineBenchmark } from "./pipeline.js";

console.log(`# Benchmarks (${new Date().toISOString().slice(0, 10)}, Node ${process.version})\n`);
console.log("## Pipeline: CPU per MiB, same process, modes interleaved, medians\n");
console.log(await pipelineBenchmark());
console.log("\n## End to end under wrangler dev\n");
console.log(await loadBenchmark());
