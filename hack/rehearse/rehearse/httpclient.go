package rehearse

import (
	"net/http"

	"k8s.io/client-go/rest"
)

func cfgHTTPClient(cfg *rest.Config) (*http.Client, error) { return rest.HTTPClientFor(cfg) }
