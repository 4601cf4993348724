import { z } from "zod";

/**
 * A Braintrust parent as `x-bt-parent` carries it. The value travels in an HTTP header, so it is
 * printable ASCII; a project whose name is not can be addressed by `project_id:`.
 */
export const ParentSchema = z
  .string()
  .max(512)
  .regex(
    /^(project_id|project_name|experiment_id):[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/,
    "must be project_id:<id>, project_name:<name> or experiment_id:<id>, in printable ASCII",
  );
