"""The licensing service: licenses, entitlements, vouchers, the runtime check, offline licenses, reports."""
