"""The order API (checkout), served by uvicorn in the order-api ECS service."""
