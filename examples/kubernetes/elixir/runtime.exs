# config/runtime.exs: the queries, from the environment set in elixir-app.yaml.
#
#   "my-app-headless..."             -> my_app@<ip>  (this release's own basename)
#   {"nessie", "nessie-headless..."} -> nessie@<ip>  (the TypeScript service's basename)
import Config

if config_env() == :prod do
  own = System.get_env("DNS_CLUSTER_QUERY")
  nessie = System.get_env("NESSIE_CLUSTER_QUERY")

  queries =
    [own, nessie && {"nessie", nessie}]
    |> Enum.reject(&is_nil/1)

  config :my_app, :dns_cluster_query, if(queries == [], do: nil, else: queries)
end
