# workerd's configuration for the consumer matrix: `workerd test config.capnp` runs the test() handler
# of each service. scripts/consumers.mjs bundles the Workers into node_modules/.tbf/ with esbuild first.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "scenarios", worker = .scenarios),
  ],
);

const scenarios :Workerd.Worker = (
  modules = [(name = "worker", esModule = embed "node_modules/.tbf/scenarios.mjs")],
  compatibilityDate = "2025-09-01",
);
