import { inPlaceIsolation } from "../builtins/in-place.js";
import { describeIsolationConformance } from "./isolation-conformance.js";

// In-place hands out the checkout itself, on the branch that is checked out.
describeIsolationConformance("in-place", () => inPlaceIsolation.create({}), { separateWorkspaces: false, branchPerRun: false });
