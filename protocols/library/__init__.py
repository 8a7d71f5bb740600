"""The protocol library shipped with Bedside: YAML templates awaiting the clinic's approval."""
