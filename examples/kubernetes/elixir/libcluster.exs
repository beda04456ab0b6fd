# The libcluster alternative to DNSCluster (config/runtime.exs), written against
# libcluster 3.x: Cluster.Strategy.DNSPoll looks up A and AAAA records (AAAA since
# 3.2.2) and connects to node_basename@<ip>. One basename per topology, so nessie gets a
# topology of its own. The option is spelled :polling_interval in the code (its
# moduledoc says poll_interval). No search domains are applied (:inet_res.lookup): use
# the full name.
import Config

if config_env() == :prod do
  config :libcluster,
    topologies: [
      my_app: [
        strategy: Cluster.Strategy.DNSPoll,
        config: [
          polling_interval: 5_000,
          query: "my-app-headless.default.svc.cluster.local",
          node_basename: "my_app"
        ]
      ],
      nessie: [
        strategy: Cluster.Strategy.DNSPoll,
        config: [
          polling_interval: 5_000,
          query: "nessie-headless.default.svc.cluster.local",
          node_basename: "nessie"
        ]
      ]
    ]
end

# and in MyApp.Application, instead of DNSCluster:
#   topologies = Application.get_env(:libcluster, :topologies, [])
#   children = [{Cluster.Supervisor, [topologies, [name: MyApp.ClusterSupervisor]]}, ...]
