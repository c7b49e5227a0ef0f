"""The storefront service: catalog pages and the catalog's JSON API (`shop.storefront.app:app`)."""
