# config/runtime.exs of the Elixir app: its own machines (its own, per-release basename)
# and the TypeScript service, whose basename is always "nessie".
# Needs dns_cluster >= 0.2.0 (lists and {basename, query} tuples).
import Config

if config_env() == :prod do
  config :my_app, :dns_cluster_query, [
    System.get_env("DNS_CLUSTER_QUERY"),
    {"nessie", "my-app-nessie.internal"}
  ]
end

# lib/my_app/application.ex, as Phoenix generates it:
#   {DNSCluster, query: Application.get_env(:my_app, :dns_cluster_query) || :ignore}
