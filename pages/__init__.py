"""The managers' pages: server-rendered by the API's own app, reading through the same
store queries and need-to-know rules as the API (which stays the contract)."""
