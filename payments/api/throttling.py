from rest_framework.throttling import SimpleRateThrottle


class TokenRateThrottle(SimpleRateThrottle):
    """One budget per API token (per client address for anonymous calls)."""

    scope = "token"

    def get_cache_key(self, request, view):
        if request.auth is not None and getattr(request.auth, "key", None):
            ident = request.auth.key
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}
