"""Camera calibration of a fixed camera: ``people`` (horizon and camera height from people of known
height, with cluster-bootstrap intervals), ``floor`` (a floor-plane pose from points measured on the
floor). Nothing is imported here."""
