# lib/my_app/application.ex: DNSCluster in the supervision tree.
#
# Written against dns_cluster 0.2.0 (the {basename, query} tuple and lists of queries
# arrived in 0.2.0; 0.1.x takes one query string and only joins nodes with its own
# basename, so it cannot find nessie@<ip> from my_app@<ip>).
defmodule MyApp.Application do
  use Application

  @impl true
  def start(_type, _args) do
    children = [
      # ...
      {DNSCluster, query: Application.get_env(:my_app, :dns_cluster_query) || :ignore},
      # ...
    ]

    Supervisor.start_link(children, strategy: :one_for_one, name: MyApp.Supervisor)
  end
end
