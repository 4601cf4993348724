import type { TestProject } from "vitest/node";
import { BraintrustStandIn } from "../../scripts/lib/braintrust-standin.js";

declare module "vitest" {
  export interface ProvidedContext {
    standinUrl: string;
  }
}

/** One Braintrust stand-in per test project, shared by all its tests (each test uses its own API keys). */
export default async function setup(project: TestProject) {
  const standin = new BraintrustStandIn();
  project.provide("standinUrl", await standin.start());
  return () => standin.stop();
}
