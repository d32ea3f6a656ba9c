"""What the dashboard's lists (orders, event records) share: paging, filters, polling."""
