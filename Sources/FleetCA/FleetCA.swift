// The FleetCA module; see DESIGN.md for its place in the layers.
