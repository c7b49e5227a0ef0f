"""The back office: `uvicorn shop.admin.app:app` behind the ALB's /admin/* rule (docs/admin.md)."""
